"""A host project's own teams, sites and memberships, for the swapped-models test lane.

It stands for a Bento backend that already has these tables: ``Organization`` (the team),
``Workspace`` (the Bento site; its team column is ``organization_id``) and ``Seat`` (who
belongs to an organization, at which level), with ``SeatPolicy`` as the team policy.
``tests/swapped_settings.py`` swaps bento_stripe's Team and Site for them.
"""
