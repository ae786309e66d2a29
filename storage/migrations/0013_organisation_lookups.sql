-- A person's representation rows by person: the partial unique index covers only the
-- pending and accepted rows, and SQLite does not read `state = 'pending'` as within it.
CREATE INDEX organisation_representatives_user ON organisation_representatives (user_id, state);
-- /mydata lists the requests a person decided.
CREATE INDEX organisation_representatives_decider ON organisation_representatives (decided_by)
    WHERE decided_by IS NOT NULL;
-- Registering looks an organisation up by any of its numbers (KRS is UNIQUE already).
CREATE INDEX organisations_nip ON organisations (nip) WHERE nip IS NOT NULL;
CREATE INDEX organisations_regon ON organisations (regon) WHERE regon IS NOT NULL;
-- The admins' queue of requests, oldest first.
CREATE INDEX organisation_representatives_state
    ON organisation_representatives (state, requested_at, id);
