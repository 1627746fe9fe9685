"""What eitest writes for people and other tools: the HTML/PDF report, exports with their codebook.

All templates live in ``outputs/templates`` and are rendered by one jinja environment.
"""
