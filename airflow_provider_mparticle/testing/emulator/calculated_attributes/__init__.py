"""The emulated Platform API, calculated attributes: state and rules (:mod:`.models`), HTTP routes (:mod:`.routes`)."""
