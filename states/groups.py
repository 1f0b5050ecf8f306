"""Product groups: the six of 919/148 and the 1048-era labels historic data uses."""

from __future__ import annotations

GROUPS = ("food", "beverage", "herbal", "handicraft", "ornamental", "tourism")
GROUPS_1048 = ("food", "beverage", "herbal", "fabric_garment", "souvenir_furniture_decor",
               "rural_tourism")

# How a 1048 label reads under 919/148 (fabric and décor were folded into handicrafts).
MAP_1048_TO_148 = {
    "food": "food",
    "beverage": "beverage",
    "herbal": "herbal",
    "fabric_garment": "handicraft",
    "souvenir_furniture_decor": "handicraft",
    "rural_tourism": "tourism",
}

ALL_GROUPS = tuple(dict.fromkeys(GROUPS + GROUPS_1048))

SUBGROUP_HINTS = {
    "food": "fresh farm produce, processed food, seasonings (e.g. soya sauce), rice noodles",
    "beverage": "alcoholic drinks, non-alcoholic drinks, teas (e.g. lotus tea)",
    "herbal": "herb-based food, medicines and cosmetics",
    "handicraft": "lacquer, mother-of-pearl inlay, silk, fabric and garments, décor",
    "ornamental": "ornamental plants, flowers and animals",
    "tourism": "community tourism, eco-tourism and rural tourist sites",
}


def normalise_group(group: str) -> str | None:
    """The identifier as stored, or ``None`` when ``group`` is not a known group."""
    key = group.strip().lower().replace("-", "_").replace(" ", "_")
    return key if key in ALL_GROUPS else None
