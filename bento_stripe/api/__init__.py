"""REST API (Django REST framework): team-scoped views over connections, sites and subscribers."""
