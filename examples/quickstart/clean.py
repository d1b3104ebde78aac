"""Drops measurements outside the plausible range and passes the rest on."""

import orchest

low, high = orchest.get_step_param("low"), orchest.get_step_param("high")
rows = orchest.get_inputs()["measurements"]
kept = [row for row in rows if low <= row["value"] <= high]
print(f"kept {len(kept)} of {len(rows)} measurements in [{low}, {high}]")
orchest.output(kept, name="clean_measurements")
