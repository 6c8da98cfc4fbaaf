-- The hall boards (大屏) are paired like the rating pads, to a service centre: the same table, its
-- `kind` telling them apart (a pad's organisation is a window, desk or village room; a board's a centre).
ALTER TABLE pads ADD COLUMN kind text NOT NULL DEFAULT 'pad' CHECK (kind IN ('pad', 'board'));
