/* Empty translation unit: CTailor only exports include/tailor.h to the Swift core. */
