"""The database refuses a StripeAccount whose site belongs to another team.

PostgreSQL and MySQL get a composite foreign key (site_id, team_id) → site (id, team_id);
SQLite, which cannot add constraints to an existing table, gets triggers.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE TRIGGER bento_stripe_account_site_team_insert
    BEFORE INSERT ON bento_stripe_stripeaccount
    WHEN (SELECT team_id FROM bento_stripe_site WHERE id = NEW.site_id) IS NOT NEW.team_id
    BEGIN SELECT RAISE(ABORT, 'bento_stripe: the site belongs to another team'); END
    """,
    """
    CREATE TRIGGER bento_stripe_account_site_team_update
    BEFORE UPDATE OF site_id, team_id ON bento_stripe_stripeaccount
    WHEN (SELECT team_id FROM bento_stripe_site WHERE id = NEW.site_id) IS NOT NEW.team_id
    BEGIN SELECT RAISE(ABORT, 'bento_stripe: the site belongs to another team'); END
    """,
    """
    CREATE TRIGGER bento_stripe_site_team_update
    BEFORE UPDATE OF team_id ON bento_stripe_site
    WHEN EXISTS (SELECT 1 FROM bento_stripe_stripeaccount
                 WHERE site_id = NEW.id AND team_id IS NOT NEW.team_id)
    BEGIN SELECT RAISE(ABORT, 'bento_stripe: the site has Stripe accounts of its team'); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS bento_stripe_account_site_team_insert",
    "DROP TRIGGER IF EXISTS bento_stripe_account_site_team_update",
    "DROP TRIGGER IF EXISTS bento_stripe_site_team_update",
]
FK_FORWARD = [
    "ALTER TABLE bento_stripe_stripeaccount ADD CONSTRAINT bento_stripe_account_site_team_fk "
    "FOREIGN KEY (site_id, team_id) REFERENCES bento_stripe_site (id, team_id)"
]
FK_BACKWARD_PG = [
    "ALTER TABLE bento_stripe_stripeaccount DROP CONSTRAINT bento_stripe_account_site_team_fk"
]
FK_BACKWARD_MYSQL = [
    "ALTER TABLE bento_stripe_stripeaccount DROP FOREIGN KEY bento_stripe_account_site_team_fk"
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)
    elif vendor in ("postgresql", "mysql"):
        _run(schema_editor, FK_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)
    elif vendor == "postgresql":
        _run(schema_editor, FK_BACKWARD_PG)
    elif vendor == "mysql":
        _run(schema_editor, FK_BACKWARD_MYSQL)


class Migration(migrations.Migration):
    dependencies = [("bento_stripe", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
