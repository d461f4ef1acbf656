"""The emulated Adobe Experience Platform computed attributes and IMS: state and rules (:mod:`.models`), HTTP routes (:mod:`.routes`)."""
