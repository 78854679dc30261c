"""Reports (phản ánh, kiến nghị): their lifecycle, deadlines, duplicates, supports and history."""
