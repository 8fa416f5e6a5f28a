"""nfvmon's database: models, engine, migrations, and the queries the conductor runs."""
