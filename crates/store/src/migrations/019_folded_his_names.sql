-- The front desk's search by name through an index: names kept in Unicode lower case beside
-- the originals (written with every registration and change), so "müller" finds MÜLLER with
-- one index range instead of folding every registered name per keystroke.
ALTER TABLE his_patients ADD COLUMN family_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE his_patients ADD COLUMN given_folded TEXT NOT NULL DEFAULT '';
UPDATE his_patients SET family_folded = lb_fold(family_name), given_folded = lb_fold(given_name);
CREATE INDEX his_patients_folded ON his_patients(family_folded, given_folded);
