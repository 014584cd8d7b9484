"""Write the student-only checkpoint of a StableKD checkpoint.

    python tools/convert_to_student.py work_dirs/x/epoch_240.pth [OUT.pth]

The output loads into the plain student (MMPretrain / MMDetection) model.
"""
import argparse

from mmstablekd.utils import export_student


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='a StableKD checkpoint')
    parser.add_argument(
        'out', nargs='?', help='default: <checkpoint>_student.pth')
    args = parser.parse_args()
    print(export_student(args.checkpoint, args.out))


if __name__ == '__main__':
    main()
