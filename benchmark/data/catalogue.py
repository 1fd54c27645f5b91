"""The catalogue of upstream datasets `scarce fetch` knows: where each comes from, under which licence, how
to recognise it once unpacked, and the digest a download is verified against.

A direct download is only made against a pinned digest: an entry whose `sha256` is None (and no `md5`) has
none we could verify, so `fetch` refuses it unless the user passes `--sha256`. Sources behind a licence
click-through, an account or a RAR archive are `manual` (no `url`): `fetch` prints what to do by hand.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Source", "SOURCES"]


@dataclass(frozen=True)
class Source:
    name: str  # what `scarce fetch <name>` takes
    title: str
    dirname: str  # default folder beside the project: ../shared/data/<dirname>
    page: str  # where a person reads the terms and downloads by hand
    licence: str
    markers: tuple[str, ...]  # globs, relative to the dataset root, that identify it after unpacking
    url: str | None = None  # direct download; None = manual
    filename: str | None = None  # the archive's name under --to
    sha256: str | None = None  # None = no digest we could verify: --sha256 required
    md5: str | None = None  # a published MD5 where no sha256 is published (weaker; sha256 preferred when both)
    manual: str = ""  # what to do by hand ({page}, {to}, {archive} are filled in)
    note: str = ""


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("mvtec_ad", "MVTec AD", "mvtec_ad", "https://www.mvtec.com/company/research/datasets/mvtec-ad",
           "CC BY-NC-SA 4.0", ("*/train/good",), filename="mvtec_anomaly_detection.tar.xz",
           # the digest anomalib pins for this archive (MVTecAD DownloadInfo), 5,264,982,680 bytes
           sha256="cf4313b13603bec67abb49ca959488f7eedce2a9f7795ec54446c649ac98cd3d",
           manual="MVTec AD is downloaded after accepting its licence on {page} (a click-through form). "
                  "Download the whole-dataset archive and save it as\n  {archive}\n"
                  "(or pass --archive <file> for a file saved elsewhere), then run this command again: it "
                  "verifies the file and unpacks it into {to}."),
    Source("magnetic_tile", "Magnetic Tile Defect", "magnetic_tile",
           "https://github.com/abin24/Magnetic-tile-defect-datasets.", "none stated upstream; cite the paper",
           ("MT_Free/Imgs",),
           manual="Clone the upstream repository (the images are files in it):\n"
                  "  git clone https://github.com/abin24/Magnetic-tile-defect-datasets. {to}/magnetic_tile\n"
                  "  git -C {to}/magnetic_tile checkout cc4eb530   # the commit of our shared copy"),
    Source("neu_cls", "NEU surface defects (from NEU-DET)", "neu_det",
           "https://github.com/siddhartamukherjee/NEU-DET-Steel-Surface-Defect-Detection",
           "free for research (NEU); cite the papers", ("IMAGES",),
           manual="Clone the repository holding the NEU-DET copy we use:\n"
                  "  git clone https://github.com/siddhartamukherjee/NEU-DET-Steel-Surface-Defect-Detection "
                  "{to}/neu_det\n  git -C {to}/neu_det checkout 351bee21   # the commit of our shared copy"),
    Source("riawelc", "RIAWELC", "riawelc", "https://github.com/stefyste/RIAWELC",
           "free with a citation requirement (see upstream)", ("training", "CR", "NoDifetto"),
           manual="The upstream repository ships the images in RAR archives, which Python's standard library "
                  "cannot unpack. Clone {page}, unpack the archives with unrar or 7z, and move the "
                  "training/ validation/ testing/ folders into {to}/riawelc (see datasets/riawelc/README.md "
                  "for the class folders expected)."),
    Source("plantvillage", "PlantVillage", "plantvillage", "https://github.com/spMohanty/PlantVillage-Dataset",
           "CC BY-SA 3.0 (per the upstream dataset card)", ("Tomato___healthy",),
           manual="Clone the upstream repository (several GB of images):\n"
                  "  git clone https://github.com/spMohanty/PlantVillage-Dataset {to}/PlantVillage-Dataset\n"
                  "The dataset root is {to}/PlantVillage-Dataset/raw/color."),
    Source("marble", "Marble Surface Anomaly Detection 2", "marble",
           "https://www.kaggle.com/datasets/wardaddy24/marble-surface-anomaly-detection-2",
           "see the Kaggle page", ("train/good",), filename="marble-surface-anomaly-detection-2.zip",
           manual="Kaggle needs an account: download the dataset archive from {page}, save it as\n"
                  "  {archive}\n(or pass --archive <file>), then run this command again."),
    Source("kolektorsdd", "KolektorSDD", "kolektorsdd", "https://www.vicos.si/Downloads/KolektorSDD",
           "see the upstream page (not verified here)", ("kos01",), url="http://go.vicos.si/kolektorsddboxes",
           filename="KolektorSDD-boxes.zip", md5="4e559e7c4be5ab5001db8243c1b125df",  # as pinned by a public
           # KolektorSDD loader (no sha256 is published); verified with MD5, and the sha256 is printed
           note="the release with box annotations, from the link the upstream authors' own download script "
                "uses (vicoslab/mixed-segdec-net-comind2021); the finely annotated release is on the page"),
)}
