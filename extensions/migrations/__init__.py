"""Scripts that `copier update` runs (`_migrations` in copier.yml) inside a service repo, on every
update. Each is idempotent: it changes what still needs changing, prints one `migration:` line when
it did, and is silent otherwise.
"""
