"""The PostgresCluster operator: a reconcile loop on the official client, and the database steps it runs."""
