#!/bin/sh
echo ran tool
