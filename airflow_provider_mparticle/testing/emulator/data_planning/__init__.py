"""The emulated Data Planning API: state and rules (:mod:`.models`), HTTP routes (:mod:`.routes`)."""
