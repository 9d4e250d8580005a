"""Use cases, one module each: every public function that writes is one transaction and
writes the outbox rows it causes. Views, tasks and commands call these; they call the domain
(models, targeting, nps, i18n) and the outbox below them."""
