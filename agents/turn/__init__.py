"""Turn-taking components: voice activity detection and the end-of-turn model."""
