"""The signal pipeline: CT posts in, classified, scored per agent against market indicators, signals out."""
