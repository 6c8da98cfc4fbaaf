-- A bad rating of the acceptance at an organisation without a department (an acceptance desk, a
-- centre, a village room) is answered for by the centre (便民服务中心) the organisation belongs to.
-- Nothing to back-fill: since 0002 every rating and rectification item stores its accepting
-- organisation (NOT NULL), and such items keep department NULL. The answering centre is worked out
-- from the org chart when an item is read, not stored, so items filed before this release are the
-- centre's at once, and an organisation moved to another centre takes its items along.
-- What a centre lists: the items of its organisations that have no department.
CREATE INDEX rectifications_of_organisations ON rectifications (organisation, rating_id) WHERE department IS NULL;
