"""Account pages of bento-stripe: the Stripe app, teams, connecting, reviewing, settings, disconnect."""
