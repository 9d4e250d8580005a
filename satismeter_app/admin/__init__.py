"""The Django admin for projects, surveys and their results, scoped by project.

Who may do what
---------------
Superusers see and change everything, as Django's admin always lets them.

For every other staff user, **a Membership is the permission**. Django's model permissions
cannot say "this project, not that one", so for this app's models they are not consulted for
non-superusers at all; the Membership rows of the user decide, per project:

- any member (role ``member`` or ``admin``) sees the project and everything in it, and may add,
  change and delete its surveys and unsubscribed addresses, set a user's survey date and
  unsubscribe, erase users, and retry or delete its outbox deliveries. What the product
  recorded — responses, displays, events, a user's ids and traits — nobody changes here,
  superusers included (``ViewOnlyAdmin``; docs/admin.md);
- a member with role ``admin`` may also change the project's settings, issue, rename and revoke
  its API keys, set up its integrations (they send answers and secrets elsewhere), and see
  who the members are;
- only superusers create or delete projects and add, change or remove memberships: granting
  access is the one thing a project admin cannot do for themselves.

Which projects a user sees, and in which role, is ``satismeter_app.permissions``'s to say (the
management API, the widget's previews and the sample page ask it too). Every admin below
inherits this from ``ProjectScopedAdmin``: its changelists and change views
only find objects of the user's projects (another project's object is "missing", so Django
redirects as it does for a deleted one), its foreign-key dropdowns and list filters only offer
the user's projects and their surveys and users, its forms reject a survey or user of another
project, and its actions only touch what the user may change.

API keys are issued with ``ApiKey.issue``: the clear-text key appears once, in the success
message after "Save", and is never stored; afterwards only its prefix is shown. The project's
verification secret and an integration's secret are shown as their first four characters;
the "rotate" action shows a new verification secret once, in the same way, and an
integration's secret is typed in and never rendered back.
"""

from . import (  # noqa: F401  (registers the admins)
    integrations,
    notifications,
    people,
    projects,
    results,
    surveys,
    work,
)
