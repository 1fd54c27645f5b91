"""Progress a person can read: per-cell bars only where one job owns the terminal (:mod:`.bars`), and one line
for the whole sweep (:mod:`.sweep`: cells done / total, failed, skipped, ETA), printed by the launcher's parent
from the events every cell appends to `<sweep dir>/progress.jsonl` (:mod:`.events`)."""
