"""Training data: the seed's folder layout read into pipelines, data as the server sees it (face crops), the
synthetic demo set, self-blended and synthetic manipulations, augmentations, and the sets of one training run."""
