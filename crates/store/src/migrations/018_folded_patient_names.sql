-- Patient names as searches compare them (Unicode lower case, `lb_fold`), indexed: a typed
-- name prefix ("müller*") finds its patients through the index instead of folding every
-- name of the archive (a scan that took half a second at three million instances).
ALTER TABLE patients ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
UPDATE patients SET name_folded = lb_fold(name);
CREATE INDEX patients_name_folded ON patients(name_folded);
