"""The bundled demo detector: a small CenterNet-style model trained on the synthetic shop."""
