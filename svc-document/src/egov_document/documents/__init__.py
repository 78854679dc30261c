"""Official documents: registers, numbering and workflow (Decree 30/2020/NĐ-CP)."""
