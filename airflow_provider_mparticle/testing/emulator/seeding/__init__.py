"""The emulated Calculated Attributes Seeding API: state and rules (:mod:`.models`), HTTP routes (:mod:`.routes`)."""
