"""Running a saved network without torch: the forecast routine every engine shares."""
