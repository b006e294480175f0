"""Regenerate ``src/townhall/sources/catalogue.toml`` from a mirror's catalogue.csv.

The mirror's catalogue gives origin repository, commit, path, bytes and sha256
for every file; this script keeps the files townhall uses (``INCLUDE``), adds
what the mirror does not say (vintage, the publisher's own page, a title) and
writes the declaration townhall ships. Run it when a source is added:

    python scripts/declare_sources.py ../shared/data/catalogue.csv

It writes metadata only, never the data.
"""

from __future__ import annotations

import csv
import sys
import urllib.parse
from pathlib import Path

INCLUDE = [
    "towns_official/english_education.csv",
    "geography/onsvisual_geo_scripts/",
    "geography/onsvisual_topojson_boundaries/geogtownscitiesGB.json",
    "geography/onsvisual_topojson_boundaries/geogtownandcitiesEW.json",
    "geography/drkane_geo_lookups/la_all_codes.csv",
    "geography/drkane_geo_lookups/area_all_codes.csv",
    "geography/drkane_geo_lookups/lsoa_latlong.csv",
    "geography/drkane_geo_lookups/msoa_la.csv",
    "geography/drkane_geo_lookups/msoa_latlong.csv",
    "geography/hack25usefuldata/census21_pop.rda",
    "geography/mysociety_2025_constituencies/2019_population.csv",
    "geography/mysociety_2025_constituencies/LSOA11_PARL25_combo_overlap.parquet",
    "geography/mysociety_la/uk_local_authorities.csv",
    "geography/mysociety_la/lookup_lsoa_to_registry.csv",
    "geography/mysociety_la/lookup_gss_to_registry.csv",
    "geography/mysociety_uk_ruc/ruc_2011.csv",
    "geography/mysociety_uk_ruc/pcon_lsoa.csv",
    "geography/ons_lookups_2011_bua/135.csv",
    "geography/ons_lookups_2011_bua/188.csv",
    "geography/ons_lookups_2011_bua/228.csv",
    "geography/open_innovations_constituencies/city_town_classification.csv",
    "geography/open_innovations_constituencies/constituency-mapping-2010-to-2025.csv",
    "geography/open_innovations_constituencies/ukparl.2025.csv",
    "geography/open_innovations_constituencies/pcon25_population_mid2021_mid2022.csv",
    "geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_Dec_2022_UK_BUC.geojson",
    "geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_July_2024_Boundaries_UK_BUC.geojson",
    "geography/subwaybuilder_regions/gb_bua_populations.csv",
    "geography/subwaybuilder_regions/gb_district_populations.csv",
    "geography/gdsl_appg_lba/LSOAs in LBA wards (1).xlsx",
    "indicators/deprivation/humaniverse_IMD_rda/",
    "indicators/deprivation/iod2019_england/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz",
    "indicators/deprivation/mysociety_composite_uk_imd/UK_IMD_E.csv",
    "indicators/deprivation/mysociety_composite_uk_imd/la_imd.csv",
    "indicators/left_behind/cni",
    "indicators/ons_indicators/explore_local_statistics/",
    "indicators/ons_indicators/census2021_population_change/datadownload.xlsx",
    "indicators/ons_indicators/census2021_population_change/datadownload2011.xlsx",
    "facilities_census/census2021_ltla_onsgeo/",
    "facilities_census/demographr_rda/age_gender21_ltla21_ew.rda",
    "facilities_census/demographr_rda/ethnicity21_lsoa21.rda",
    "facilities_census/demographr_rda/household_tenure21_lsoa21.rda",
    "sortition/citizensassemblies-replication/LICENSE",
    "sortition/citizensassemblies-replication/data/example_small_20/",
    "sortition/citizensassemblies-replication/data/example_large_200/",
    "sortition/citizensassemblies-replication/reference_output/example_",
    "sortition/sortition-algorithms-fixtures/",
    # The new wings (elections, evidence, infrastructure, funding, maps) and the sf_e pool.
    "politics_finance/",
    "facilities_census/",
    "indicators/social_infrastructure/",
    "indicators/towns/",
    "indicators/ons_indicators/life-expectancy",
    "geography/postcode_districts_gibbs/",
    "geography/onsvisual_uk_topojson/",
    "geography/onsvisual_topojson_boundaries/",
    "geography/hcl_hex_cartograms/",
    "geography/drkane_geo_lookups/",
    "geography/mysociety_la/",
    "geography/mysociety_2025_constituencies/PARL25_LAD23_combo_overlap.parquet",
    "geography/librarieshacked_geography_db/",
    "geography/open_innovations_constituencies/",
    "sortition/citizensassemblies-replication/",
]

# (path prefix, vintage, publisher's own page): first match wins.
META = [
    ("politics_finance/elections/EU-referendum", "23 June 2016", "https://www.electoralcommission.org.uk/who-we-are-and-what-we-do/elections-and-referendums/past-elections-and-referendums/eu-referendum/results-and-turnout-eu-referendum"),
    ("politics_finance/elections/Final estimates", "2016 (2010 seats)", "https://medium.com/@chrishanretty/final-estimates-of-the-leave-vote-or-areal-interpolation-and-the-uks-referendum-on-eu-membership-5490b6cab878"),
    ("politics_finance/elections/1918-2017", "1918-2017 general elections", "https://commonslibrary.parliament.uk/research-briefings/cbp-8647/"),
    ("politics_finance/elections/HoC-GE2017", "8 June 2017", "https://commonslibrary.parliament.uk/research-briefings/cbp-7979/"),
    ("politics_finance/elections/HoC-GE2019", "12 December 2019", "https://commonslibrary.parliament.uk/research-briefings/cbp-8749/"),
    ("politics_finance/elections/HoC-GE2024", "4 July 2024", "https://commonslibrary.parliament.uk/research-briefings/cbp-10009/"),
    ("politics_finance/elections/ec-ge2015", "7 May 2015", "https://www.electoralcommission.org.uk/"),
    ("politics_finance/elections/hoc-ge2015", "7 May 2015", "https://commonslibrary.parliament.uk/research-briefings/cbp-7186/"),
    ("politics_finance/elections/", "council control snapshots", "https://opencouncildata.co.uk/"),
    ("politics_finance/finance/council_tax/", "2014-15 to 2026-27", "https://www.gov.uk/government/collections/council-tax-statistics"),
    ("politics_finance/finance/income/", "2010-11 to 2021-22 tax years", "https://www.gov.uk/government/statistics/income-and-tax-by-county-and-region-and-by-parliamentary-constituency"),
    ("politics_finance/finance/revenue_outturn/", "2010-11 to 2017-18", "https://www.gov.uk/government/collections/local-authority-revenue-expenditure-and-financing"),
    ("politics_finance/finance/spending_power/", "2015-16 to 2019-20", "https://www.gov.uk/government/collections/final-local-government-finance-settlement"),
    ("politics_finance/geography/", "2010-2024 boundaries", "https://pages.mysociety.org/"),
    ("facilities_census/activeplaces_2009/", "2009", "https://www.activeplacespower.com/"),
    ("facilities_census/courts/courtfinder_db_2013", "2013", "https://www.find-court-tribunal.service.gov.uk/"),
    ("facilities_census/courts/", "2014 and 2017 snapshots", "https://www.find-court-tribunal.service.gov.uk/"),
    ("facilities_census/pubs_osm/", "2022", "https://www.openstreetmap.org/copyright"),
    ("indicators/social_infrastructure/libraries/", "2010-2024", "https://www.gov.uk/government/publications/public-libraries-in-england-basic-dataset"),
    ("indicators/social_infrastructure/health/epraccur", "2024", "https://digital.nhs.uk/services/organisation-data-service"),
    ("indicators/social_infrastructure/health/", "c. 2020", "https://www.nhs.uk/about-us/nhs-website-datasets/"),
    ("indicators/social_infrastructure/pubs/", "2001-2018", "https://www.ons.gov.uk/businessindustryandtrade/business/activitysizeandlocation/datasets/publichousesandbarsbylocalauthority"),
    ("indicators/towns/", "2023", "https://www.ons.gov.uk/"),
    ("indicators/ons_indicators/life-expectancy", "2001-2019", "https://www.ons.gov.uk/"),
    ("geography/postcode_districts_gibbs/", "postcode districts", "https://github.com/gibbs/uk-postcodes"),
    ("geography/onsvisual_uk_topojson/", "2016 base, changes to 2023", "https://github.com/ONSvisual/uk-topojson"),
    ("geography/hcl_hex_cartograms/", "2023-2024", "https://github.com/houseofcommonslibrary/uk-hex-cartograms-noncontiguous"),
    ("geography/librarieshacked_geography_db/", "2011 to 2021 small areas", "https://github.com/LibrariesHacked/geography-db"),
    ("sortition/citizensassemblies-replication/", "2021", "https://github.com/pgoelz/citizensassemblies-replication"),
    ("towns_official/", "2023 (towns on 2011 built-up areas)", "https://www.ons.gov.uk/peoplepopulationandcommunity/educationandchildcare/articles/whydochildrenandyoungpeopleinsmallertownsdobetteracademicallythanthoseinlargertowns/2023-07-25"),
    ("geography/onsvisual_geo_scripts/lsoa21_pwc", "Census 2021", "https://geoportal.statistics.gov.uk/"),
    ("geography/onsvisual_geo_scripts/msoa21_pwc", "Census 2021", "https://geoportal.statistics.gov.uk/"),
    ("geography/onsvisual_geo_scripts/", "2021-2025 boundaries", "https://geoportal.statistics.gov.uk/"),
    ("geography/onsvisual_topojson_boundaries/", "2011 built-up areas (2019/2021 releases)", "https://geoportal.statistics.gov.uk/"),
    ("geography/drkane_geo_lookups/", "2011 and 2021 codes", "https://geoportal.statistics.gov.uk/"),
    ("geography/hack25usefuldata/", "Census 2021", "https://www.nomisweb.co.uk/sources/census_2021"),
    ("geography/mysociety_2025_constituencies/2019_population", "mid-2019", "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates"),
    ("geography/mysociety_2025_constituencies/", "2024 constituencies", "https://pages.mysociety.org/2025-constituencies/"),
    ("geography/mysociety_la/", "2023 register", "https://pages.mysociety.org/uk_local_authority_names_and_codes/"),
    ("geography/mysociety_uk_ruc/ruc_2011", "2011", "https://www.gov.uk/government/collections/rural-urban-classification"),
    ("geography/mysociety_uk_ruc/", "2011 small areas", "https://pages.mysociety.org/uk_ruc/"),
    ("geography/ons_lookups_2011_bua/", "2011-2019 lookups", "https://geoportal.statistics.gov.uk/"),
    ("geography/open_innovations_constituencies/city_town", "2018 (2010 seats)", "https://commonslibrary.parliament.uk/research-briefings/cbp-8322/"),
    ("geography/open_innovations_constituencies/constituency-mapping", "2024", "https://pages.mysociety.org/2025-constituencies/"),
    ("geography/open_innovations_constituencies/pcon25_population", "mid-2021, mid-2022", "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates"),
    ("geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_Dec", "December 2022", "https://geoportal.statistics.gov.uk/"),
    ("geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_July", "July 2024", "https://geoportal.statistics.gov.uk/"),
    ("geography/open_innovations_constituencies/", "2024", "https://github.com/open-innovations/constituencies"),
    ("geography/subwaybuilder_regions/gb_bua", "Census 2021", "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/builtupareaspopulationestimatesenglandandwales"),
    ("geography/subwaybuilder_regions/", "mid-2024", "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates"),
    ("geography/gdsl_appg_lba/", "2019 wards", "https://ocsi.uk/left-behind-neighbourhoods/"),
    ("indicators/deprivation/humaniverse_IMD_rda/imd2025", "IoD2025", "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025"),
    ("indicators/deprivation/humaniverse_IMD_rda/imd2019_wales", "WIMD 2019", "https://www.gov.wales/welsh-index-multiple-deprivation"),
    ("indicators/deprivation/humaniverse_IMD_rda/imd2019", "IoD2019", "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019"),
    ("indicators/deprivation/humaniverse_IMD_rda/census21", "Census 2021", "https://www.ons.gov.uk/census"),
    ("indicators/deprivation/iod2019_england/", "IoD2019", "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019"),
    ("indicators/deprivation/mysociety_composite_uk_imd/", "2019-2020", "https://pages.mysociety.org/composite_uk_imd/"),
    ("indicators/left_behind/cni2019", "CNI 2019", "https://ocsi.uk/2019/10/21/community-needs-index/"),
    ("indicators/left_behind/cni2022", "CNI 2022", "https://ocsi.uk/"),
    ("indicators/left_behind/cni2023", "CNI 2023", "https://ocsi.uk/"),
    ("indicators/ons_indicators/explore_local_statistics/", "2023/24 boundaries; periods 1997-2026", "https://www.ons.gov.uk/explore-local-statistics/"),
    ("indicators/ons_indicators/census2021_population_change/", "Census 2011 and 2021", "https://www.ons.gov.uk/visualisations/censuspopulationchange/"),
    ("facilities_census/census2021_ltla_onsgeo/", "Census 2021", "https://www.nomisweb.co.uk/sources/census_2021_bulk"),
    ("facilities_census/demographr_rda/", "Census 2021", "https://www.nomisweb.co.uk/sources/census_2021_bulk"),
    ("sortition/citizensassemblies-replication/", "2021", "https://github.com/pgoelz/citizensassemblies-replication"),
    ("sortition/sortition-algorithms-fixtures/", "0.10.1", "https://github.com/sortitionfoundation/sortition-algorithms"),
]


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(catalogue: str, out: str) -> None:
    with open(catalogue, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keep = [r for r in rows if any(r["path"] == p or (p.endswith(("/", "cni", "example_", "life-expectancy")) and r["path"].startswith(p)) for p in INCLUDE)]
    lines = [
        "# Every file townhall uses: where it comes from (the origin repository's raw file at a",
        "# pinned commit), its sha256, publisher and licence. Generated by scripts/declare_sources.py.",
        "",
    ]
    for r in sorted(keep, key=lambda r: r["path"]):
        vintage, page = next(((v, u) for p, v, u in META if r["path"].startswith(p)), ("", ""))
        url = (
            f"https://raw.githubusercontent.com/{r['origin_repo']}/{r['origin_commit']}/"
            + urllib.parse.quote(r["origin_path"])
        )
        lines += [
            "[[source]]",
            f"path = {_q(r['path'])}",
            f"url = {_q(url)}",
            f"sha256 = {_q(r['sha256'])}",
            f"bytes = {int(r['bytes'])}",
            f"exact = {'true' if r['exact'] == 'yes' else 'false'}",
            f"publisher = {_q(r['publisher'])}",
            f"publisher_url = {_q(page)}",
            f"licence = {_q(r['licence'])}",
            f"vintage = {_q(vintage)}",
            f"title = {_q(r['description'])}",
            "",
        ]
    Path(out).write_text("\n".join(lines), encoding="utf-8")
    print(f"declared {len(keep)} sources in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/catalogue.csv",
         sys.argv[2] if len(sys.argv) > 2 else "src/townhall/sources/catalogue.toml")
