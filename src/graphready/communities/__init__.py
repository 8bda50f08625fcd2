"""communities"""
