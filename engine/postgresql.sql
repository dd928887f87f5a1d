-- Gatehouse bundled engine: setup of the PostgreSQL database that FerretDB uses.
--
-- Applied by scripts/db.sh as the cluster superuser on every start, connected
-- to the FerretDB database; every statement is idempotent.
--
-- Why GIN twins: FerretDB v1 pushes equality filters down as
--     _jsonb -> $1 @> $2          (dotted paths: _jsonb #> $1 @> $2)
-- and creates MongoDB indexes as btree expression indexes on (_jsonb -> 'field').
-- A btree cannot serve @> (containment), so without help every find, findOne,
-- findById and count is a sequential scan of the collection's table. For each
-- btree expression index FerretDB creates (the _id_ index included), an event
-- trigger adds a "GIN twin" per indexed field:
--     CREATE INDEX ... USING gin ((_jsonb -> 'field') jsonb_path_ops)
-- which does serve @>. The planner only matches it when $1 is a constant, so
-- the cluster also runs with plan_cache_mode = force_custom_plan (FerretDB's
-- driver, pgx, uses prepared statements whose generic plans keep $1 opaque).
-- Twins are built with fastupdate = off: with GIN's pending list, lookups
-- after a burst of inserts scan the whole list (findById at 20,000 freshly
-- inserted documents: 3.2 ms with it, 1.5 ms without).
-- Compound indexes get one twin per field; the planner uses the most selective
-- one (or a BitmapAnd) and rechecks the rest. Twins are deduplicated by
-- (table, expression), are invisible to MongoDB clients (FerretDB lists indexes
-- from its own metadata), and are dropped when no FerretDB index needs them.
-- Dotted paths ("a.b") get a twin on (_jsonb #> '{a,b}'): FerretDB v1.24 pushes
-- them down for update, delete, findAndModify and count, but not for find and
-- aggregate (nested pushdown is off there), which filter such keys in Go.

CREATE SCHEMA IF NOT EXISTS gatehouse_engine;
GRANT USAGE ON SCHEMA gatehouse_engine TO ferretdb;

-- The twins one btree index needs: one row per key column that is a FerretDB
-- field expression ((_jsonb -> 'a') or ((_jsonb -> 'a') -> 'b') for "a.b").
-- Nothing for other access methods, FerretDB's own metadata table, or tables
-- outside FerretDB's schemas (those holding _ferretdb_database_metadata).
CREATE OR REPLACE FUNCTION gatehouse_engine.gin_twin_specs(idx oid)
RETURNS TABLE (twin_name text, twin_expr text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $fn$
DECLARE
    ix pg_index;
    tbl pg_class;
    def text;
    parts text[];
    rebuilt text;
BEGIN
    SELECT * INTO ix FROM pg_index WHERE indexrelid = idx;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF (SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = idx)
        IS DISTINCT FROM 'btree' THEN
        RETURN;
    END IF;
    SELECT * INTO tbl FROM pg_class WHERE oid = ix.indrelid;
    IF tbl.relname LIKE '\_ferretdb\_%' OR NOT EXISTS (
        SELECT 1 FROM pg_class m
        WHERE m.relnamespace = tbl.relnamespace
          AND m.relname = '_ferretdb_database_metadata' AND m.relkind = 'r') THEN
        RETURN;
    END IF;

    FOR k IN 1 .. ix.indnkeyatts LOOP
        CONTINUE WHEN ix.indkey[k - 1] <> 0; -- a plain column, not an expression
        def := pg_get_indexdef(idx, k, false);
        SELECT array_agg(replace(m.v[1], '''''', '''') ORDER BY m.ord) INTO parts
        FROM regexp_matches(def, '''((?:[^'']|'''')*)''::text', 'g') WITH ORDINALITY AS m(v, ord);
        CONTINUE WHEN parts IS NULL;
        -- Accept the expression only if it is exactly what FerretDB generates.
        rebuilt := '_jsonb';
        FOR i IN 1 .. array_length(parts, 1) LOOP
            rebuilt := '(' || rebuilt || ' -> ''' || replace(parts[i], '''', '''''') || '''::text)';
        END LOOP;
        -- (pg_get_indexdef wraps an expression column in one more pair of parentheses.)
        CONTINUE WHEN def NOT IN (rebuilt, '(' || rebuilt || ')');
        -- Same shape as FerretDB's filter, so the planner can match it.
        IF array_length(parts, 1) = 1 THEN
            twin_expr := format('(_jsonb -> %L)', parts[1]);
        ELSE
            twin_expr := format('(_jsonb #> %L::text[])', parts::text);
        END IF;
        twin_name := left(tbl.relname, 40) || '_gin_' || left(md5(tbl.relname || ' ' || twin_expr), 12);
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- Creates the missing twins of one index; returns how many it created.
CREATE OR REPLACE FUNCTION gatehouse_engine.ensure_gin_twins(idx oid)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    nsp text;
    rel text;
    s record;
    created integer := 0;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.indexrelid = idx;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    FOR s IN SELECT * FROM gatehouse_engine.gin_twin_specs(idx) LOOP
        IF to_regclass(format('%I.%I', nsp, s.twin_name)) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON %I.%I USING gin (%s jsonb_path_ops) WITH (fastupdate = off)',
                           s.twin_name, nsp, rel, s.twin_expr);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$fn$;

-- Brings the twins of every FerretDB table (of one schema, if given) in line
-- with its btree indexes: creates missing twins (indexes made before this file
-- was applied) and drops twins no FerretDB index needs any more.
CREATE OR REPLACE FUNCTION gatehouse_engine.sync_gin_twins(only_schema text DEFAULT NULL)
RETURNS TABLE (created integer, dropped integer)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    r record;
BEGIN
    created := 0;
    dropped := 0;
    FOR r IN
        SELECT i.indexrelid
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_am am ON am.oid = ic.relam
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE am.amname = 'btree' AND n.nspname NOT LIKE 'pg\_%'
          AND (only_schema IS NULL OR n.nspname = only_schema)
    LOOP
        created := created + gatehouse_engine.ensure_gin_twins(r.indexrelid);
    END LOOP;
    -- Twins made before they were created with fastupdate = off.
    FOR r IN
        SELECT n.nspname, ic.relname AS idxname
        FROM pg_class ic
        JOIN pg_am am ON am.oid = ic.relam
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE ic.relkind = 'i' AND am.amname = 'gin' AND ic.relname ~ '_gin_[0-9a-f]{12}$'
          AND NOT coalesce(ic.reloptions @> ARRAY['fastupdate=off'], false)
          AND (only_schema IS NULL OR n.nspname = only_schema)
    LOOP
        EXECUTE format('ALTER INDEX %I.%I SET (fastupdate = off)', r.nspname, r.idxname);
    END LOOP;
    FOR r IN
        SELECT n.nspname, ic.relname AS idxname, i.indrelid
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_am am ON am.oid = ic.relam
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE am.amname = 'gin' AND ic.relname ~ '_gin_[0-9a-f]{12}$'
          AND (only_schema IS NULL OR n.nspname = only_schema)
          AND EXISTS (SELECT 1 FROM pg_class m WHERE m.relnamespace = n.oid
                        AND m.relname = '_ferretdb_database_metadata' AND m.relkind = 'r')
    LOOP
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pg_index b, gatehouse_engine.gin_twin_specs(b.indexrelid) s
            WHERE b.indrelid = r.indrelid AND s.twin_name = r.idxname);
        EXECUTE format('DROP INDEX %I.%I', r.nspname, r.idxname);
        dropped := dropped + 1;
    END LOOP;
    RETURN NEXT;
END
$fn$;

-- ddl_command_end for CREATE INDEX: add the new index's twins in the same
-- transaction. A failure only warns: it must never fail FerretDB's createIndexes.
CREATE OR REPLACE FUNCTION gatehouse_engine.on_create_index()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
             WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
        BEGIN
            PERFORM gatehouse_engine.ensure_gin_twins(r.objid);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'gatehouse: no GIN twin for index %: %', r.objid::regclass, SQLERRM;
        END;
    END LOOP;
END
$fn$;

-- sql_drop for DROP INDEX (FerretDB's dropIndexes): drop twins left unneeded.
-- Dropping a collection or database drops the table or schema, twins included.
CREATE OR REPLACE FUNCTION gatehouse_engine.on_drop_index()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT schema_name FROM pg_event_trigger_dropped_objects()
             WHERE object_type = 'index' AND object_name !~ '_gin_[0-9a-f]{12}$' LOOP
        BEGIN
            PERFORM gatehouse_engine.sync_gin_twins(r.schema_name);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'gatehouse: GIN twins of schema % not synced: %', r.schema_name, SQLERRM;
        END;
    END LOOP;
END
$fn$;

-- Drops every twin (for GATEHOUSE_DB_GIN_TWINS=off: benchmark baselines).
CREATE OR REPLACE FUNCTION gatehouse_engine.drop_all_gin_twins()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    r record;
    dropped integer := 0;
BEGIN
    FOR r IN
        SELECT n.nspname, ic.relname AS idxname
        FROM pg_class ic
        JOIN pg_am am ON am.oid = ic.relam
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE ic.relkind = 'i' AND am.amname = 'gin' AND ic.relname ~ '_gin_[0-9a-f]{12}$'
          AND EXISTS (SELECT 1 FROM pg_class m WHERE m.relnamespace = n.oid
                        AND m.relname = '_ferretdb_database_metadata' AND m.relkind = 'r')
    LOOP
        EXECUTE format('DROP INDEX %I.%I', r.nspname, r.idxname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$fn$;

-- psql variable gin_twins (set by scripts/db.sh): on unless
-- GATEHOUSE_DB_GIN_TWINS=off, which exists only to measure the baseline.
\if :gin_twins
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'gatehouse_gin_twins_create') THEN
        CREATE EVENT TRIGGER gatehouse_gin_twins_create ON ddl_command_end
            WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION gatehouse_engine.on_create_index();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'gatehouse_gin_twins_drop') THEN
        CREATE EVENT TRIGGER gatehouse_gin_twins_drop ON sql_drop
            WHEN TAG IN ('DROP INDEX') EXECUTE FUNCTION gatehouse_engine.on_drop_index();
    END IF;
END
$do$;

-- Twins for indexes that existed before the triggers (or while they were off).
SELECT created AS gin_twins_created, dropped AS gin_twins_dropped FROM gatehouse_engine.sync_gin_twins();
\else
DROP EVENT TRIGGER IF EXISTS gatehouse_gin_twins_create;
DROP EVENT TRIGGER IF EXISTS gatehouse_gin_twins_drop;
SELECT gatehouse_engine.drop_all_gin_twins() AS gin_twins_dropped;
\endif
