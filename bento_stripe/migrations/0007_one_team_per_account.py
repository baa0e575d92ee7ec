"""The database refuses an active connection of a Stripe account that another team holds.

The unique constraint ``bento_stripe_one_active_connection`` allows one active row per
``(stripe_user_id, livemode)``; this closes the gap between the modes: team B's live
connection of an account team A has connected in test mode (or the other way round).
A team may hold both modes of its own account. PostgreSQL gets a trigger function that
also serialises concurrent connections of one account (an advisory lock per account id);
SQLite gets triggers. Other databases rely on the model and service checks.
"""

from django.db import migrations

MESSAGE = "bento_stripe: the Stripe account is connected to another team"
_CLASH_SQLITE = """
    NEW.status = 'active' AND EXISTS (
        SELECT 1 FROM bento_stripe_stripeaccount
        WHERE stripe_user_id = NEW.stripe_user_id AND status = 'active'
          AND team_id IS NOT NEW.team_id AND id IS NOT NEW.id)
"""
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER bento_stripe_account_one_team_insert
    BEFORE INSERT ON bento_stripe_stripeaccount
    WHEN {_CLASH_SQLITE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER bento_stripe_account_one_team_update
    BEFORE UPDATE OF status, stripe_user_id, team_id ON bento_stripe_stripeaccount
    WHEN {_CLASH_SQLITE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS bento_stripe_account_one_team_insert",
    "DROP TRIGGER IF EXISTS bento_stripe_account_one_team_update",
]
PG_FORWARD = [
    f"""
    CREATE FUNCTION bento_stripe_account_one_team() RETURNS trigger AS $$
    BEGIN
        IF NEW.status = 'active' THEN
            PERFORM pg_advisory_xact_lock(hashtext('bento_stripe:' || NEW.stripe_user_id));
            IF EXISTS (
                SELECT 1 FROM bento_stripe_stripeaccount
                WHERE stripe_user_id = NEW.stripe_user_id AND status = 'active'
                  AND team_id <> NEW.team_id AND id <> NEW.id
            ) THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'unique_violation';
            END IF;
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER bento_stripe_account_one_team
    BEFORE INSERT OR UPDATE OF status, stripe_user_id, team_id ON bento_stripe_stripeaccount
    FOR EACH ROW EXECUTE FUNCTION bento_stripe_account_one_team()
    """,
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS bento_stripe_account_one_team ON bento_stripe_stripeaccount",
    "DROP FUNCTION IF EXISTS bento_stripe_account_one_team()",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)
    elif vendor == "postgresql":
        _run(schema_editor, PG_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)
    elif vendor == "postgresql":
        _run(schema_editor, PG_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("bento_stripe", "0006_ledgercustomer_data")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
