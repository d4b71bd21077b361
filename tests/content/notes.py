"""Editor's notes for briefs that need a whole article from the offline writer.

The offline writer writes only from research material, so a test that needs a full-length piece
gives its brief notes like these (pasted, as an editor would). Written for these tests.
"""

from __future__ import annotations

COMPOSTING = """
Composting turns kitchen scraps and garden waste into a dark, crumbly material that feeds the soil. A home compost heap needs a mix of green material, such as vegetable peelings and grass cuttings, and brown material, such as dry leaves, straw and cardboard. Green material supplies nitrogen, while brown material supplies carbon and keeps the heap airy. A common rule of thumb is to add roughly two or three parts brown material for every part of green material.

Microbes do most of the work in a compost heap. Bacteria break down soft material first, and fungi follow to tackle tougher stems and woody pieces. Worms, woodlice and beetles move in as the heap cools and help to finish the job. These organisms need air, water and food in the right balance to stay active.

A heap that smells of ammonia usually has too much green material. Adding shredded cardboard or dry leaves soaks up the excess moisture and restores the balance. A heap that stays cold and dry usually needs more green material and a splash of water. The contents should feel about as damp as a wrung-out sponge.

Turning the heap every few weeks lets air reach the middle and speeds up decomposition. A hot heap can reach temperatures of around 60 degrees Celsius in its centre. Those temperatures kill many weed seeds and plant diseases. A cool heap still produces good compost, but it can take a year or more.

Most compost bins work best when they sit directly on bare soil. Soil contact lets worms and other organisms enter from below. A shady or partly shaded spot keeps the heap from drying out in summer. A bin with a lid keeps rain off and holds in heat.

Fruit and vegetable scraps, coffee grounds, tea leaves and crushed eggshells can all go into a home compost bin. Meat, fish, dairy products and cooked food are best kept out because they attract rats and flies. Diseased plants and perennial weed roots can survive a cool heap and spread around the garden later. Glossy paper and coal ash contain substances that do not belong in garden soil.

Chopping material into small pieces gives microbes more surface to work on. Large woody stems can take years to rot unless they are shredded first. Autumn leaves break down slowly on their own and can be collected in a separate bag or cage to make leaf mould. Leaf mould makes an excellent mulch and seed compost after a year or two.

Finished compost is dark brown, smells earthy and no longer shows the original scraps. It can be spread as a mulch around shrubs, dug into vegetable beds or mixed with soil for containers. A layer of a few centimetres on the soil surface each year improves soil structure over time. Compost helps sandy soil hold water and helps heavy clay soil drain.

Worm composting suits flats and homes without a garden. A wormery uses special composting worms, usually tiger worms or red wigglers, rather than ordinary earthworms. The worms eat kitchen scraps and produce a rich material called worm castings. A wormery also produces a liquid that can be diluted and used as plant feed.

Bokashi is a different method that ferments food waste in a sealed bucket. It uses bran inoculated with microbes and can handle small amounts of cooked food. The fermented waste still has to be buried in soil or added to a compost heap to finish breaking down. Bokashi buckets are small enough to sit under a kitchen sink.

Household food waste makes up a large share of what many families throw away. Composting at home keeps that waste out of landfill, where it would rot without air and release methane. Methane is a greenhouse gas far more potent than carbon dioxide over short periods. Many councils offer compost bins at reduced prices to encourage residents to start.

A compost heap does not need to be tidy to work. Layering green and brown material as it arrives is enough for most households. Covering fresh kitchen scraps with a handful of brown material reduces smells and keeps fruit flies away. Checking the heap every week or two is usually enough to spot problems early.

Compost heaps sometimes attract rodents when food scraps sit exposed on the surface. Burying scraps in the middle of the heap and using a bin with a solid base or fine mesh keeps rats out. Keeping the heap moist also discourages rodents, which prefer dry places to nest. Turning the heap regularly disturbs any animals that try to settle in it.

Gardeners who make their own compost often need to buy less fertiliser and potting mix. Home compost adds a wide range of nutrients in small amounts rather than a few in large doses. Its organic matter feeds soil life, which in turn makes nutrients available to plants. Over several seasons the soil becomes darker, crumblier and easier to dig.

Community composting schemes let neighbours share a larger heap or a set of bins. Allotment sites and community gardens often run shared compost bays. Larger heaps hold heat better and break down material faster than small bins. Some schemes collect food waste from nearby households and return finished compost to them.

Starting a compost heap in spring or early summer gives it warm weather to get going. A heap started in winter works slowly until the temperature rises. Adding a spadeful of finished compost or garden soil to a new heap introduces the microbes it needs. Some gardeners use two or three bins side by side so that one heap can mature while another is filled.

Wooden pallets make a cheap and sturdy open compost bay. Plastic dalek-style bins suit small gardens and keep the contents tidy. Rotating tumbler bins make turning easy, but they need to be filled in batches to work well. Whatever the container, a volume of about one cubic metre helps a heap hold enough heat.

Grass cuttings break down quickly but can turn slimy when added in thick layers. Mixing cuttings with straw or torn cardboard prevents a wet, smelly mat from forming. Fallen fruit, spent bedding plants and soft hedge trimmings are all useful green material. Woody prunings are better shredded or left to rot slowly in a separate pile.

Sieving finished compost removes stones and pieces that have not yet rotted. The leftover lumps can go back into a new heap to finish breaking down. Compost that is nearly ready can be left to mature for a few more weeks under a cover. Mature compost can be stored in bags or a covered bin until it is needed.

Adding compost to vegetable beds each year replaces the organic matter that crops use up. Potatoes, squash and beans grow well in soil enriched with plenty of compost. Seedlings are sensitive, so young plants usually do better in compost mixed with sand or soil. Spreading compost in autumn lets winter rain and worms work it into the ground.

Schools and workplaces increasingly run composting projects to cut the amount of waste they send away. Children learn quickly which scraps belong in the bin and which do not. Shared bins work best when clear signs show what can be added. A regular volunteer or caretaker keeps a shared heap in good condition.
"""

STANDING_DESKS = """
A standing desk lets a person work at a computer while standing instead of sitting. Many models are sit-stand desks that move up and down with an electric motor or a hand crank. Desk converters sit on top of an existing desk and raise the keyboard and screen.

Standing all day is not the goal of a standing desk. Researchers generally suggest alternating between sitting and standing through the working day. Long periods of standing still can cause sore feet, leg discomfort and back pain. Changing position every half hour or so is a common recommendation.

The desk height matters more than the desk itself. When standing, the elbows should bend at about ninety degrees with the forearms level with the keyboard. The top of the screen should sit at or slightly below eye level. A monitor arm makes it easier to set the screen at the right height.

An anti-fatigue mat cushions the feet and encourages small movements while standing. Supportive shoes also reduce discomfort during longer standing periods. A footrest or a low rail lets a person shift their weight from one leg to the other.

Electric sit-stand desks usually cost more than manual desks and converters. Models with memory presets make it quick to switch between a sitting and a standing height. Stability matters at standing height, where cheaper desks may wobble when typing. Checking the weight limit is important for setups with several monitors.

Employers in some countries provide standing desks as part of workplace health programmes. Office workers often report feeling more alert when they change position during the day. A standing desk works best alongside regular breaks and short walks.
"""

HEAT_PUMPS = """
A heat pump moves heat from the outside air or the ground into a home instead of burning fuel to make heat. Air source heat pumps sit outside the house and draw warmth from the air even on cold winter days. Ground source heat pumps collect heat through pipes buried in a garden or in a deep borehole.

A well-installed heat pump can deliver around three units of heat for each unit of electricity it uses. The flow temperature of a heat pump is lower than that of a gas boiler, so radiators feel warm rather than hot. Running a heat pump for longer at a low temperature is more efficient than short bursts at a high temperature.

Heat pumps work well in older homes when the radiators are large enough and the house is reasonably insulated. Installers often calculate the heat loss of each room before choosing the size of the pump and the radiators. Loft insulation and draught-proofing are cheap first steps that help any heating system.

Air source heat pumps need a clear space around the outdoor unit so that air can flow freely. Ground source systems need enough land for trenches or a borehole, which raises the installation cost. Modern outdoor units are about as loud as a fridge when heard from a few metres away.

Grants cover part of the installation cost in many countries. In England the Boiler Upgrade Scheme offers a fixed grant towards an air source heat pump. Running costs depend on electricity prices, the efficiency of the pump and how well the house keeps its heat.

A heat pump usually needs a hot water cylinder because it heats water more slowly than a combination boiler. Smart controls let the pump run when electricity is cheaper, such as overnight on some tariffs. A heat pump can also cool a home in summer when it is designed to run in reverse.

Heat pumps need an annual service, much like a boiler, to keep them running efficiently. Most units are expected to last around fifteen to twenty years. Owners who switch from oil or gas often notice steadier temperatures through the day.
"""


def research_inputs(notes: str) -> dict:
    """A task's `metadata` with the notes pasted into its brief."""
    return {"research": {"text": notes.strip()}}


# The whole journey's brief, "Collecting rainwater in barrels for a small garden", one fact a line.
RAINWATER = """\
A rainwater barrel collects the water that runs off a roof through the downpipe.
One millimetre of rain on ten square metres of roof gives about ten litres of water.
A small shed roof can fill a two hundred litre barrel after a single heavy summer storm.
Plants prefer rainwater because it is soft and free of the chlorine found in tap water.
Barrels need a tight lid so that mosquitoes cannot lay eggs on the standing water.
A diverter on the downpipe sends water to the barrel and lets the overflow return to the drain.
Raising the barrel on blocks gives enough pressure to fill a watering can from the tap.
Two barrels linked at the base double the storage without taking up more ground.
In winter the barrel should be emptied or the diverter closed, because ice can split the plastic.
Gardeners in dry regions often save a third of their summer water bill with one barrel.
Dark barrels keep algae from growing, since light cannot reach the water inside.
Cleaning the gutter every autumn keeps leaves and moss out of the stored rainwater.
A barrel under a greenhouse roof waters tomatoes and cucumbers through the hottest weeks.
"""
