-- Each user's own layout choices (where the reading room's viewer goes, how wide its panels
-- are): not patient data and not practice settings, so any signed-in user keeps their own.
CREATE TABLE user_preferences (
    login TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (login, key)
);
