"""The petitioner's own page: progress by query code, and rating the reply (满意度评价)."""
