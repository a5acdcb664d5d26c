"""Scripts that `copier update` runs (`_migrations` in copier.yml) inside a service repo.

Each is idempotent: it changes what still needs changing and says what it did.
"""
