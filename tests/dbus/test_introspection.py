# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the daemons publish is what dbus/*.xml says: every method with its arguments, every
signal, every property with its type, access and change annotation, nothing more."""

import os
import unittest
import xml.etree.ElementTree as ElementTree

from dbus_case import CLIENT, SERVER, BusTestCase
from private_bus import POLICY_DIR

EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def members(xml_text, interface):
    """{(kind, name): description} of one interface in introspection XML."""
    root = ElementTree.fromstring(xml_text)
    [node] = [i for i in root.iter("interface") if i.get("name") == interface]
    found = {}
    for member in node:
        if member.tag not in ("method", "signal", "property"):
            continue
        if member.tag == "property":
            emits = [a.get("value") for a in member.iter("annotation") if a.get("name") == EMITS]
            description = (member.get("type"), member.get("access"), (emits or ["true"])[0])
        else:
            description = tuple((a.get("direction", "in" if member.tag == "method" else "out"),
                                 a.get("type"), a.get("name")) for a in member.iter("arg"))
        found[(member.tag, member.get("name"))] = description
    return found


class Introspection(BusTestCase):
    def test_published_interfaces_match_the_xml(self):
        self.tunnel()
        for target in (CLIENT, SERVER):
            with self.subTest(target[2]):
                xml_file = os.path.join(POLICY_DIR, target[2] + ".xml")
                with open(xml_file, encoding="utf-8") as f:
                    expected = members(f.read(), target[2])
                published = self.bus.busctl("introspect", "--xml-interface", *target[:2]).stdout
                self.assertEqual(members(published, target[2]), expected)
                self.assertGreater(len(expected), 5)

    def test_every_member_is_documented(self):
        for target in (CLIENT, SERVER):
            with self.subTest(target[2]):
                with open(os.path.join(POLICY_DIR, target[2] + ".xml"), encoding="utf-8") as f:
                    text = f.read()
                # A member's doc comment is the comment right before it.
                for kind, name in members(text, target[2]):
                    start = text.index(f'<{kind} name="{name}"')
                    before = text[:start].rstrip()
                    self.assertTrue(before.endswith("-->"), f"{kind} {name} has no doc comment")


if __name__ == "__main__":
    unittest.main()
