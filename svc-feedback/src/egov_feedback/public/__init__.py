"""The public side: answered reports without personal data, their map, the categories and areas. No token."""
