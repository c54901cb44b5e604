"""Rebuild curate/caption/imagenet_nouns.tsv: the 1,000 ImageNet classes of the bundled
EfficientNet-Lite head as plain nouns a caption can use, each with the COCO class a detector
would give the same thing (so a 'dog' box whose crop the head calls a beagle is a beagle) and a
kind (animal, object, food, plant, scene, clothing, person, medium) that says whether it can be
a caption's subject, and a group: the everyday word a search would use ('bird' for a king
penguin, 'flower' for a daisy, 'building' for a church).

The class names are torchvision's ImageNet category list (torchvision 0.28.0, BSD-3); the
nouns, COCO classes and kinds are this project's own mapping, written by hand below.

    .venv/bin/python tools/build_imagenet_nouns.py
"""

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "curate" / "caption" / "imagenet_nouns.tsv"

# Index ranges of animal groups (0-based ImageNet-1k order) and the COCO class they belong to.
ANIMAL_GROUPS = [
    (range(0, 7), "fish", ""), (range(7, 25), "", "bird"), (range(33, 38), "turtle", ""),
    (range(38, 49), "lizard", ""), (range(52, 69), "snake", ""),
    (range(80, 101), "", "bird"), (range(127, 147), "", "bird"),
    (range(151, 269), "", "dog"), (range(281, 286), "", "cat"), (range(294, 298), "", "bear"),
    (range(330, 333), "rabbit", ""), (range(339, 340), "horse", "horse"),
    (range(340, 341), "zebra", "zebra"), (range(345, 348), "", "cow"), (range(348, 350), "", "sheep"),
    (range(385, 387), "elephant", "elephant"), (range(101, 102), "elephant", "elephant"),
    (range(389, 398), "fish", ""),
]
# Fine names that read badly alone: the noun a caption should use.
NOUNS = {
    "tabby": "tabby cat", "tiger cat": "tabby cat", "Egyptian cat": "cat", "sorrel": "horse", "ox": "ox",
    "tusker": "elephant", "Indian elephant": "elephant", "African elephant": "elephant", "drake": "duck",
    "cock": "rooster", "hen": "hen", "Granny Smith": "green apple", "hotdog": "hot dog", "teddy": "teddy bear",
    "notebook": "laptop", "mouse": "computer mouse", "pot": "potted plant", "ram": "sheep", "hog": "pig",
    "studio couch": "couch", "four-poster": "bed", "washbasin": "sink", "toilet seat": "toilet",
    "cellular telephone": "mobile phone", "beach wagon": "car", "cab": "taxi", "racer": "race car",
    "Model T": "vintage car", "pickup": "pickup truck", "trailer truck": "lorry", "moving van": "van",
    "airliner": "airliner", "warplane": "military aircraft", "liner": "ocean liner", "pirate": "sailing ship",
    "yawl": "sailing boat", "schooner": "sailing ship", "ashcan": "dustbin", "maillot": "swimsuit",
    "maillot tank suit": "swimsuit", "jean": "jeans", "sunglass": "sunglasses", "web site": "web page",
    "daisy": "daisy", "Madagascar cat": "ring-tailed lemur", "ice bear": "polar bear", "ballplayer": "baseball player", "groom": "bridegroom", "crane": "crane",
    "hip": "rose hip", "ear": "ear of corn", "corn": "corn", "agaric": "mushroom", "bolete": "mushroom",
    "American egret": "egret", "little blue heron": "heron", "water ouzel": "dipper", "kite": "bird of prey",
    "monitor": "computer monitor", "screen": "screen", "television": "television", "desktop computer": "computer",
    "hand-held computer": "handheld computer", "iPod": "music player", "soup bowl": "bowl", "mixing bowl": "bowl",
    "coffee mug": "mug", "espresso": "espresso", "analog clock": "clock", "wall clock": "clock",
    "digital clock": "digital clock", "park bench": "bench", "mountain bike": "bicycle",
    "bicycle-built-for-two": "tandem bicycle", "motor scooter": "scooter", "school bus": "school bus",
    "trolleybus": "trolleybus", "steam locomotive": "steam locomotive", "streetcar": "tram",
    "passenger car": "railway carriage", "freight car": "freight wagon", "bullet train": "high-speed train",
    "purse": "handbag", "Windsor tie": "necktie", "racket": "tennis racket", "ski": "ski",
    "computer keyboard": "keyboard", "typewriter keyboard": "keyboard", "remote control": "remote control",
    "hand blower": "hair dryer", "book jacket": "book", "vase": "vase", "folding chair": "chair",
    "rocking chair": "rocking chair", "barber chair": "barber chair", "dining table": "table",
    # the synset's everyday lemma ("cornet, horn, trumpet, trump"; "beacon, lighthouse, pharos")
    "cornet": "trumpet", "beacon": "lighthouse", "lesser panda": "red panda", "monarch": "monarch butterfly",
}
# COCO classes of ImageNet objects (the detector's name for the same thing).
COCO = {
    "bicycle": ["mountain bike", "bicycle-built-for-two"],
    "car": ["beach wagon", "cab", "convertible", "jeep", "limousine", "minivan", "Model T", "racer", "sports car",
            "ambulance", "police van"],
    "motorcycle": ["moped", "motor scooter"], "airplane": ["airliner", "warplane"],
    "bus": ["school bus", "trolleybus", "minibus"],
    "train": ["bullet train", "electric locomotive", "steam locomotive", "freight car", "passenger car", "streetcar"],
    "truck": ["fire engine", "garbage truck", "moving van", "pickup", "tow truck", "trailer truck"],
    "boat": ["canoe", "catamaran", "container ship", "fireboat", "gondola", "lifeboat", "liner", "pirate", "schooner",
             "speedboat", "trimaran", "yawl", "aircraft carrier", "submarine", "wreck", "paddlewheel"],
    "traffic light": ["traffic light"], "parking meter": ["parking meter"], "bench": ["park bench"],
    "backpack": ["backpack"], "umbrella": ["umbrella"], "handbag": ["purse"], "tie": ["Windsor tie", "bow tie"],
    "sports ball": ["soccer ball", "basketball", "baseball", "tennis ball", "volleyball", "rugby ball", "golf ball",
                    "ping-pong ball", "croquet ball"],
    "skis": ["ski"], "tennis racket": ["racket"],
    "bottle": ["beer bottle", "pop bottle", "water bottle", "wine bottle", "whiskey jug", "pill bottle"],
    "wine glass": ["goblet"], "cup": ["coffee mug", "cup", "espresso"], "bowl": ["mixing bowl", "soup bowl"],
    "banana": ["banana"], "apple": ["Granny Smith"], "orange": ["orange"], "broccoli": ["broccoli"],
    "hot dog": ["hotdog"], "pizza": ["pizza"], "donut": ["bagel"], "cake": ["trifle"],
    "chair": ["barber chair", "folding chair", "rocking chair", "throne"], "couch": ["studio couch"],
    "potted plant": ["pot"], "bed": ["four-poster"], "dining table": ["dining table", "pool table"], "toilet": ["toilet seat"],
    "tv": ["television", "monitor", "screen"], "laptop": ["laptop", "notebook"], "mouse": ["mouse"],
    "remote": ["remote control"], "keyboard": ["computer keyboard", "typewriter keyboard"],
    "cell phone": ["cellular telephone"], "microwave": ["microwave"], "toaster": ["toaster"],
    "sink": ["washbasin"], "refrigerator": ["refrigerator"], "book": ["book jacket"],
    "clock": ["analog clock", "digital clock", "wall clock"], "vase": ["vase"], "teddy bear": ["teddy"],
    "hair drier": ["hand blower"], "spoon": ["wooden spoon", "ladle"], "person": ["ballplayer", "groom", "scuba diver"],
}
SCENES = ["seashore", "lakeside", "valley", "alp", "cliff", "promontory", "sandbar", "volcano", "coral reef",
          "geyser", "breakwater", "dam", "pier", "dock", "boathouse", "patio", "library", "restaurant", "cinema",
          "bakery", "barbershop", "bookshop", "butcher shop", "confectionery", "grocery store", "shoe shop",
          "tobacco shop", "toyshop", "planetarium", "prison", "church", "mosque", "monastery", "palace", "castle",
          "greenhouse", "barn", "stage", "fountain", "steel arch bridge", "suspension bridge", "viaduct",
          "triumphal arch", "megalith", "cliff dwelling", "thatch", "tile roof", "stupa", "dome", "bell cote",
          "obelisk", "water tower", "yurt", "apiary", "lumbermill", "home theater"]
CLOTHING = ["abaya", "academic gown", "apron", "bathing cap", "bearskin", "bib", "bikini", "bolo tie", "bonnet",
            "bow tie", "brassiere", "bulletproof vest", "cardigan", "chain mail", "cloak", "clog", "cowboy boot",
            "cowboy hat", "crash helmet", "cuirass", "diaper", "feather boa", "football helmet", "fur coat", "gown",
            "hair slide", "hoopskirt", "jean", "jersey", "kimono", "knee pad", "lab coat", "Loafer", "maillot",
            "maillot tank suit", "military uniform", "miniskirt", "mitten", "mortarboard", "overskirt", "pajama",
            "pickelhaube", "poncho", "running shoe", "sandal", "sarong", "shower cap", "ski mask", "sock",
            "sombrero", "stole", "suit", "sunglass", "sunglasses", "sweatshirt", "swimming trunks", "trench coat",
            "vestment", "wig", "Windsor tie", "breastplate", "gasmask", "oxygen mask", "neck brace", "necklace",
            "mask", "velvet", "wool", "handkerchief", "seat belt"]
# Classes that name the picture's kind rather than a thing in it (the medium classifier's job).
MEDIUM = ["web site", "comic book", "crossword puzzle", "menu", "jigsaw puzzle", "envelope", "binder", "scoreboard",
          "slot", "maze", "odometer", "rule", "honeycomb", "chainlink fence", "window screen", "spider web",
          "prayer rug", "doormat", "quilt", "shower curtain", "theater curtain", "window shade", "tray", "book jacket"]
# Everyday words for classes no COCO class covers (ranges as in ANIMAL_GROUPS, or names).
GROUPS = [(range(0, 7), "fish"), (range(389, 398), "fish"), (range(25, 33), "amphibian"), (range(33, 38), "turtle"),
          (range(38, 49), "lizard"), (range(49, 51), "crocodile"), (range(52, 69), "snake"), (range(70, 77), "spider"),
          (range(300, 320), "insect"), (range(321, 327), "butterfly"), (range(269, 281), "wild dog"),
          (range(286, 294), "big cat"), (range(330, 333), "rabbit"), (range(333, 339), "rodent"),
          (range(365, 370), "ape"), (range(370, 383), "monkey"), (range(383, 385), "lemur"), (range(118, 127), "crustacean")]
GROUP_NAMES = {"daisy": "flower", "yellow lady's slipper": "flower", "rapeseed": "flower", "church": "building",
               "castle": "building", "palace": "building", "monastery": "building", "mosque": "building",
               "barn": "building", "greenhouse": "building", "planetarium": "building", "prison": "building",
               "library": "building", "cinema": "building", "boathouse": "building", "water tower": "tower",
               "beacon": "lighthouse", "bell cote": "building", "stupa": "building", "dome": "building",
               "acoustic guitar": "guitar", "electric guitar": "guitar", "cornet": "trumpet", "trombone": "trombone",
               "agaric": "mushroom", "bolete": "mushroom", "ladle": "spoon", "wooden spoon": "spoon",
               "grey whale": "whale", "killer whale": "whale", "wallaby": "kangaroo", "triumphal arch": "building",
               # ImageNet has no pliers, scissors, sickle or tweezers: the head spreads them over the
               # tools it knows (a sickle 'hook' 0.59, pliers 'hook' 0.31 + 'can opener' 0.19), whose sum is a tool.
               **{t: "tool" for t in ("hook", "can opener", "letter opener", "corkscrew", "hatchet", "hammer",
                                      "screwdriver", "cleaver", "plane", "power drill", "chain saw", "shovel",
                                      "carpenter's kit")}}
PLANTS = ["daisy", "yellow lady's slipper", "rapeseed", "corn", "acorn", "hip", "buckeye", "coral fungus", "agaric",
          "gyromitra", "stinkhorn", "earthstar", "hen-of-the-woods", "bolete", "ear", "hay"]


def build() -> list[tuple[int, str, str, str, str, str]]:
    from curate import torchvision_compat  # noqa: F401
    from torchvision.models._meta import _IMAGENET_CATEGORIES as names

    coco = {name: c for c, members in COCO.items() for name in members}
    known = set(names)
    for name in [*coco, *NOUNS, *SCENES, *CLOTHING, *MEDIUM, *PLANTS, *GROUP_NAMES]:
        assert name in known, name
    rows = []
    for i, name in enumerate(names):
        noun, cls = NOUNS.get(name, name), coco.get(name, "")
        if i < 398:
            kind = "animal"
            for members, group_noun, group_coco in ANIMAL_GROUPS:
                if i in members:
                    cls = cls or group_coco
                    if group_noun in ("fish", "elephant", "horse") and name not in NOUNS:
                        noun = group_noun  # 'tench' and 'coho' mean nothing to most readers
        elif name in SCENES:
            kind = "scene"
        elif name in MEDIUM:
            kind = "medium"
        elif name in CLOTHING:
            kind = "clothing"
        elif name in PLANTS:
            kind = "plant"
        elif cls == "person":
            kind = "person"
        elif 923 <= i <= 969:
            kind = "food"
        else:
            kind = "object"
        group = cls or GROUP_NAMES.get(name) or next((g for members, g in GROUPS if i in members), "")
        rows.append((i, name, noun, cls, kind, "" if group == noun else group))
    return rows


def main() -> None:
    lines = ["index\timagenet\tnoun\tcoco\tkind\tgroup"] + ["\t".join(map(str, r)) for r in build()]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({len(lines) - 1} classes)")


if __name__ == "__main__":
    main()
