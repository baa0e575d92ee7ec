"""The database refuses a StripeAccount whose site belongs to another team.

PostgreSQL and MySQL get a composite foreign key (site_id, team_id) → site (id, team_id);
SQLite, which cannot add constraints to an existing table, gets triggers. The site is the
site model's (swappable: BENTO_STRIPE_SITE_MODEL), which keeps the unique (id, team)
constraint of ``AbstractSite``.
"""

from django.db import migrations

from bento_stripe.conf import site_model_label

# The site table is the site model's: ``bento_stripe_site`` (id, team_id), or a host
# project's when BENTO_STRIPE_SITE_MODEL swaps it; names come from the model's options.
SQLITE_FORWARD = [
    """
    CREATE TRIGGER bento_stripe_account_site_team_insert
    BEFORE INSERT ON bento_stripe_stripeaccount
    WHEN (SELECT {team} FROM {site} WHERE {pk} = NEW.site_id) IS NOT NEW.team_id
    BEGIN SELECT RAISE(ABORT, 'bento_stripe: the site belongs to another team'); END
    """,
    """
    CREATE TRIGGER bento_stripe_account_site_team_update
    BEFORE UPDATE OF site_id, team_id ON bento_stripe_stripeaccount
    WHEN (SELECT {team} FROM {site} WHERE {pk} = NEW.site_id) IS NOT NEW.team_id
    BEGIN SELECT RAISE(ABORT, 'bento_stripe: the site belongs to another team'); END
    """,
    """
    CREATE TRIGGER bento_stripe_site_team_update
    BEFORE UPDATE OF {team} ON {site}
    WHEN EXISTS (SELECT 1 FROM bento_stripe_stripeaccount
                 WHERE site_id = NEW.{pk} AND team_id IS NOT NEW.{team})
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
    "FOREIGN KEY (site_id, team_id) REFERENCES {site} ({pk}, {team})"
]
FK_BACKWARD_PG = [
    "ALTER TABLE bento_stripe_stripeaccount DROP CONSTRAINT bento_stripe_account_site_team_fk"
]
FK_BACKWARD_MYSQL = [
    "ALTER TABLE bento_stripe_stripeaccount DROP FOREIGN KEY bento_stripe_account_site_team_fk"
]


def _names(apps, schema_editor):
    """The quoted site table, its primary key column and its team column."""
    site = apps.get_model(site_model_label())
    quote = schema_editor.connection.ops.quote_name
    return {
        "site": quote(site._meta.db_table),
        "pk": quote(site._meta.pk.column),
        "team": quote(site._meta.get_field("team").column),
    }


def _run(schema_editor, statements, names=None):
    for sql in statements:
        schema_editor.execute(sql.format(**names) if names else sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    names = _names(apps, schema_editor)
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD, names)
    elif vendor in ("postgresql", "mysql"):
        _run(schema_editor, FK_FORWARD, names)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)
    elif vendor == "postgresql":
        _run(schema_editor, FK_BACKWARD_PG)
    elif vendor == "mysql":
        _run(schema_editor, FK_BACKWARD_MYSQL)


class Migration(migrations.Migration):
    dependencies = [
        ("bento_stripe", "0001_initial"),
        migrations.swappable_dependency(site_model_label()),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
