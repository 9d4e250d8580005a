"""The HTTP interfaces: the public widget routes and the REST APIs (Django REST framework)."""
