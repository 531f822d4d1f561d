"""Per-call audio plumbing: 20 ms frames at 16 kHz, paced playback, barge-in and stereo call recording."""
