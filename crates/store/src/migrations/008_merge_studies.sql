-- Archived studies a merge moved to the kept patient (JSON array of Study Instance UIDs).
ALTER TABLE patient_merges ADD COLUMN moved_studies TEXT NOT NULL DEFAULT '[]';
