"""Running a network without torch: the forecast routines (return and volatility) every engine shares."""
