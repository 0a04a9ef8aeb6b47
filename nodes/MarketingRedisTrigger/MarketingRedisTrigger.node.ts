// Placeholder replaced by the trigger work (issue 5).
